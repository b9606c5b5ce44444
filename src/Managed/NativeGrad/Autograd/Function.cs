namespace NativeGrad.Autograd;

/// <summary>
/// The context of a custom <see cref="Function"/>: tensors saved in forward for backward, which inputs need a
/// gradient, and outputs marked non-differentiable (PyTorch's <c>ctx</c>).
/// </summary>
public sealed class FunctionContext
{
    private SavedTensor[] _saved = [];
    private readonly string _name;
    internal readonly HashSet<Tensor> NonDifferentiable = new(ReferenceEqualityComparer.Instance);

    internal FunctionContext(string name, bool[] needsInputGrad)
    {
        _name = name;
        NeedsInputGradFlags = needsInputGrad;
    }

    internal bool[] NeedsInputGradFlags { get; }

    /// <summary>Whether forward input <paramref name="index"/> needs a gradient (PyTorch's <c>ctx.needs_input_grad</c>).</summary>
    public bool NeedsInputGrad(int index) => NeedsInputGradFlags[index];

    /// <summary>Saves inputs or outputs for backward; they are checked for in-place modification when read back.</summary>
    public void SaveForBackward(params Tensor[] tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        _pending = tensors;
    }

    private Tensor[]? _pending;

    /// <summary>The tensors given to <see cref="SaveForBackward"/>, in order.</summary>
    public IReadOnlyList<Tensor> SavedTensors => _saved.Select(s => s.Unpack()).ToArray();

    /// <summary>Marks outputs that have no gradient (e.g. indices); they do not require grad.</summary>
    public void MarkNonDifferentiable(params Tensor[] outputs)
    {
        foreach (var t in outputs) NonDifferentiable.Add(t);
    }

    /// <summary>Turns the pending saves into saved tensors once the outputs carry their node (so saved outputs keep it).</summary>
    internal void Commit()
    {
        if (_pending is null) return;
        _saved = _pending.Select(t => new SavedTensor(t, _name)).ToArray();
        _pending = null;
    }

    internal void Release(ThreadState state)
    {
        for (int i = 0; i < _saved.Length; i++) _saved[i].Release(state);
    }
}

/// <summary>
/// A user-defined differentiable operation, PyTorch's <c>torch.autograd.Function</c>: subclass it, implement
/// <see cref="Forward"/> (runs without recording) and <see cref="Backward"/> (gradients of the inputs from the
/// gradients of the outputs), then call <see cref="Apply"/>. Its node is named after the class plus "Backward".
/// A backward written with tensor ops is itself differentiable, so higher-order gradients work.
/// </summary>
/// <example>
/// <code>
/// sealed class MyExp : Function
/// {
///     public override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
///     {
///         var result = inputs[0].Exp();
///         ctx.SaveForBackward(result);
///         return [result];
///     }
///     public override Tensor?[] Backward(FunctionContext ctx, Tensor[] grads) => [grads[0] * ctx.SavedTensors[0]];
/// }
/// var y = new MyExp().Apply(x); // y.GradFn.Name == "MyExpBackward"
/// </code>
/// </example>
public abstract class Function
{
    /// <summary>Computes the outputs from the inputs (grad recording is off here).</summary>
    public abstract Tensor[] Forward(FunctionContext ctx, Tensor[] inputs);

    /// <summary>Returns one gradient (or null) per forward input, given one gradient per forward output.</summary>
    public abstract Tensor?[] Backward(FunctionContext ctx, Tensor[] gradOutputs);

    /// <summary>Runs the function on <paramref name="inputs"/> and records it in the graph; returns its single output.</summary>
    public Tensor Apply(params Tensor[] inputs)
    {
        var outputs = ApplyMany(inputs);
        if (outputs.Length != 1) throw new InvalidOperationException($"{GetType().Name}.Forward returned {outputs.Length} outputs; use ApplyMany.");
        return outputs[0];
    }

    /// <summary>Runs the function and records it in the graph; returns all its outputs.</summary>
    public Tensor[] ApplyMany(params Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        string name = GetType().Name + "Backward";
        bool record = GradMode.IsEnabled && inputs.Any(t => t.RequiresGrad);
        var edges = inputs.Select(t => record ? t.GradientEdge() : default).ToArray();
        var ctx = new FunctionContext(name, edges.Select(e => e.Node is not null).ToArray());
        Tensor[] outputs;
        using (GradMode.NoGrad()) outputs = Forward(ctx, inputs);
        if (outputs is null || outputs.Length == 0) throw new InvalidOperationException($"{GetType().Name}.Forward returned no outputs.");
        // An output that is one of the inputs (or shared) becomes its own tensor so it can carry this node.
        for (int i = 0; i < outputs.Length; i++)
        {
            if (inputs.Contains(outputs[i], ReferenceEqualityComparer.Instance) || outputs.Take(i).Contains(outputs[i], ReferenceEqualityComparer.Instance))
                outputs[i] = outputs[i].Detach();
        }
        if (record)
        {
            var node = new CustomFunctionNode(name, edges, this, ctx, outputs);
            for (int i = 0; i < outputs.Length; i++)
                if (!ctx.NonDifferentiable.Contains(outputs[i]) && outputs[i].DType.IsFloatingPoint()) outputs[i].SetGradFn(node, i);
        }
        ctx.Commit();
        return outputs;
    }
}

/// <summary>The node of a custom <see cref="Function"/>: several outputs, zeros for outputs no gradient reached.</summary>
internal sealed class CustomFunctionNode : BackwardNode
{
    private readonly Function _function;
    private readonly FunctionContext _context;
    private readonly (long[] Shape, DType DType)[] _outputs;

    public CustomFunctionNode(string name, GradientEdge[] next, Function function, FunctionContext context, Tensor[] outputs) : base(name, next)
    {
        _function = function;
        _context = context;
        _outputs = outputs.Select(o => (o.ShapeArray, o.DType)).ToArray();
    }

    internal override int NumOutputs => _outputs.Length;

    internal override Tensor?[] Apply(Tensor?[] gradOutputs)
    {
        var grads = new Tensor[_outputs.Length];
        for (int i = 0; i < grads.Length; i++)
            grads[i] = gradOutputs[i] ?? Tensor.Zeros(_outputs[i].Shape, _outputs[i].DType);
        var result = _function.Backward(_context, grads);
        if (result is null || result.Length != Next.Length)
            throw new InvalidOperationException($"function {Name} returned an incorrect number of gradients (expected {Next.Length}, got {result?.Length ?? 0})");
        for (int i = 0; i < result.Length; i++)
            if (Next[i].Node is null) result[i] = null;
        return result;
    }

    internal override void ReleaseSavedTensors(ThreadState state) => _context.Release(state);
}
