using NativeGrad.Autograd;
using static NativeGrad.Optim.ParameterUpdate;

namespace NativeGrad.Optim;

/// <summary>
/// A set of parameters optimised with one learning rate (PyTorch's <c>param_groups</c> entry). Schedulers change
/// <see cref="LearningRate"/> between steps.
/// </summary>
/// <example>
/// <code>
/// var opt = new SGD([new ParamGroup(body.Parameters(), 0.01), new ParamGroup(head.Parameters(), 0.1)], lr: 0.01);
/// </code>
/// </example>
public sealed class ParamGroup
{
    /// <summary>Creates a group.</summary>
    /// <param name="parameters">Leaf tensors that require grad.</param>
    /// <param name="learningRate">The group's learning rate (default: the optimizer's).</param>
    public ParamGroup(IEnumerable<Tensor> parameters, double? learningRate = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Tensors = parameters.ToArray();
        RequestedLearningRate = learningRate;
    }

    /// <summary>The parameters of the group.</summary>
    public IReadOnlyList<Tensor> Parameters => Tensors;

    /// <summary>The parameters as an array: a step walks them without an enumerator object.</summary>
    internal Tensor[] Tensors { get; }

    /// <summary>The learning rate the next step uses.</summary>
    public double LearningRate { get; set; }

    /// <summary>The learning rate when the first scheduler was attached (PyTorch's <c>initial_lr</c>), null before.</summary>
    public double? InitialLearningRate { get; internal set; }

    internal double? RequestedLearningRate { get; }
}

/// <summary>
/// The base of the optimizers, PyTorch's <c>torch.optim.Optimizer</c>. <see cref="Step()"/> updates every parameter
/// that has a gradient in place, under NoGrad, on the current backend's kernels: parameters keep their storage, and
/// the per-parameter state (momentum buffers, moment estimates) and a few workspaces are allocated once, on the
/// first step, so a training loop allocates no tensor memory for its updates. That memory is the optimizer's:
/// <see cref="Dispose"/> gives it back (an optimizer dropped undisposed returns it when the GC finds it).
/// </summary>
public abstract class Optimizer : IDisposable
{
    private bool _disposed;
    private readonly List<ParamGroup> _groups = [];
    private readonly HashSet<Tensor> _all = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<(DType, int), Tensor> _workspaces = [];

    /// <summary>Creates the optimizer over one group of parameters.</summary>
    /// <param name="parameters">Leaf tensors that require grad.</param>
    /// <param name="lr">The learning rate.</param>
    protected Optimizer(IEnumerable<Tensor> parameters, double lr)
        : this([new ParamGroup(parameters ?? throw new ArgumentNullException(nameof(parameters)))], lr)
    {
    }

    /// <summary>Creates the optimizer over several groups.</summary>
    /// <param name="groups">The groups; a group without a learning rate takes <paramref name="lr"/>.</param>
    /// <param name="lr">The default learning rate.</param>
    protected Optimizer(IEnumerable<ParamGroup> groups, double lr)
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (!(lr >= 0)) throw new ArgumentOutOfRangeException(nameof(lr), lr, $"Invalid learning rate: {lr}");
        DefaultLearningRate = lr;
        foreach (var g in groups) AddParamGroup(g);
        if (_groups.Count == 0 || _all.Count == 0) throw new ArgumentException("optimizer got an empty parameter list", nameof(groups));
    }

    /// <summary>The learning rate of groups created without one.</summary>
    public double DefaultLearningRate { get; }

    /// <summary>The parameter groups.</summary>
    public IReadOnlyList<ParamGroup> ParamGroups => _groups;

    /// <summary>Adds a group (e.g. layers unfrozen during fine-tuning); a parameter may belong to one group only.</summary>
    /// <param name="group">The group.</param>
    public void AddParamGroup(ParamGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        foreach (var p in group.Parameters)
        {
            ArgumentNullException.ThrowIfNull(p);
            if (!p.IsLeaf) throw new ArgumentException("can't optimize a non-leaf Tensor", nameof(group));
            if (!p.DType.IsFloatingPoint()) throw new ArgumentException($"can't optimize a {p.DType.TorchName()} tensor", nameof(group));
            if (!p.IsContiguous) throw new ArgumentException($"optimizers update parameters in place and need contiguous ones; got shape {Shapes.Format(p.Shape)} with strides {Shapes.Format(p.Strides)}", nameof(group));
        }
        foreach (var p in group.Parameters)
            if (!_all.Add(p)) throw new ArgumentException("some parameters appear in more than one parameter group", nameof(group));
        group.LearningRate = group.RequestedLearningRate ?? DefaultLearningRate;
        if (!(group.LearningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(group), group.LearningRate, $"Invalid learning rate: {group.LearningRate}");
        _groups.Add(group);
    }

    /// <summary>Resets every parameter's gradient to null (PyTorch's default <c>zero_grad(set_to_none=True)</c>).</summary>
    public void ZeroGrad()
    {
        foreach (var g in _groups) // List and array enumerators are structs: no allocation per call
            foreach (var p in g.Tensors) p.ZeroGrad();
    }

    /// <summary>Updates every parameter that has a gradient, in place. Parameters without one are skipped.</summary>
    /// <exception cref="ObjectDisposedException">The optimizer was disposed.</exception>
    public void Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using (GradMode.NoGrad())
        {
            BeginStep();
            foreach (var group in _groups)
            {
                foreach (var p in group.Tensors)
                {
                    if (p.Grad is not { } grad) continue;
                    if (grad.DType != p.DType || !Shapes.SameShape(grad.Shape, p.Shape))
                        throw new InvalidOperationException($"the gradient ({grad.DType.TorchName()} {Shapes.Format(grad.Shape)}) does not match its parameter ({p.DType.TorchName()} {Shapes.Format(p.Shape)})");
                    var g = grad.IsContiguous ? Of(grad) : CopiedGradient(grad, p.NumElements);
                    Update(group, p, g);
                    p.BumpVersion();
                }
            }
        }
    }

    /// <summary>Re-evaluates the model with <paramref name="closure"/> (which should zero the gradients, compute the loss and call Backward), then steps; returns the loss.</summary>
    /// <param name="closure">Computes the loss and its gradients.</param>
    public Tensor Step(Func<Tensor> closure)
    {
        ArgumentNullException.ThrowIfNull(closure);
        Tensor loss;
        using (GradMode.EnableGrad()) loss = closure();
        Step();
        return loss;
    }

    /// <summary>
    /// Gives the optimizer's tensors back to the pool: its workspaces and the per-parameter state (momentum buffers,
    /// moment estimates). The parameters and their gradients are the caller's and stay. Disposing twice is harmless;
    /// <see cref="Step()"/> afterwards throws.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var t in OwnedTensors()) t.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>The tensors the optimizer made and holds: its workspaces, then the per-parameter state.</summary>
    internal IEnumerable<Tensor> OwnedTensors() => _workspaces.Values.Concat(StateTensors());

    /// <summary>The subclass's per-parameter state tensors (momentum buffers, moment estimates).</summary>
    private protected virtual IEnumerable<Tensor> StateTensors() => [];

    /// <summary>Called once at the start of each <see cref="Step()"/>, before the updates.</summary>
    private protected virtual void BeginStep()
    {
    }

    /// <summary>Updates <paramref name="parameter"/> in place from its gradient <paramref name="grad"/> (contiguous, same dtype and count).</summary>
    private protected abstract void Update(ParamGroup group, Tensor parameter, Flat grad);

    /// <summary>
    /// The first <paramref name="count"/> elements of workspace <paramref name="slot"/> for <paramref name="dtype"/>:
    /// one buffer per slot and dtype, as large as the largest parameter, allocated on first use and reused by every step.
    /// </summary>
    private protected Flat Workspace(int slot, DType dtype, long count)
    {
        if (!_workspaces.TryGetValue((dtype, slot), out var ws) || ws.NumElements < count)
        {
            long largest = count;
            foreach (var p in _all) if (p.DType == dtype) largest = Math.Max(largest, p.NumElements);
            ws?.Dispose();
            ws = Tensor.Zeros([largest], dtype);
            TensorScope.Untrack(ws);
            _workspaces[(dtype, slot)] = ws;
        }
        return Prefix(ws, count);
    }

    /// <summary>A per-parameter state tensor, zero-initialised, that belongs to the optimizer (never to a caller's scope).</summary>
    private protected static Tensor StateTensor(Tensor parameter)
    {
        var t = Tensor.Zeros(parameter.ShapeArray, parameter.DType);
        TensorScope.Untrack(t);
        return t;
    }

    private Flat CopiedGradient(Tensor grad, long count)
    {
        var dst = Workspace(0, grad.DType, count);
        CopyStrided(dst, grad);
        return dst;
    }
}
