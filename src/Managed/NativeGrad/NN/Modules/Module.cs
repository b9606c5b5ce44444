using System.Text;
using NativeGrad.Autograd;
using NativeGrad.Ops;

namespace NativeGrad.NN;

/// <summary>
/// The base of every layer and model, PyTorch's <c>torch.nn.Module</c>. A module owns parameters (leaf tensors that
/// require grad) and child modules, both registered by name in its constructor; names compose into PyTorch's dotted
/// state-dict keys (<c>"0.weight"</c>, <c>"encoder.fc.bias"</c>), so weights saved by one library load in the other.
/// </summary>
/// <example>
/// <code>
/// sealed class Mlp : Module
/// {
///     private readonly Linear _fc1, _fc2;
///     public Mlp()
///     {
///         _fc1 = RegisterModule("fc1", new Linear(784, 256));
///         _fc2 = RegisterModule("fc2", new Linear(256, 10));
///     }
///     public override Tensor Forward(Tensor x) => _fc2.Call(_fc1.Call(x).Relu());
/// }
/// var model = new Mlp();
/// foreach (var (name, p) in model.NamedParameters()) Console.WriteLine($"{name} {p.NumElements}");
/// </code>
/// </example>
public abstract class Module
{
    // Insertion-ordered, as PyTorch's _parameters / _buffers / _modules dicts: that order is the state-dict order.
    private readonly List<KeyValuePair<string, Tensor>> _parameters = [];
    private readonly List<KeyValuePair<string, Tensor>> _buffers = [];
    private readonly List<KeyValuePair<string, Module>> _children = [];

    /// <summary>True in training mode (the default), false after <see cref="Eval"/>; changes what <see cref="Dropout"/> does.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>The computation of the module. Call it through <see cref="Call"/>.</summary>
    /// <param name="input">The input tensor.</param>
    public abstract Tensor Forward(Tensor input);

    /// <summary>Runs <see cref="Forward"/> (PyTorch's <c>module(input)</c>).</summary>
    /// <param name="input">The input tensor.</param>
    public Tensor Call(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return Forward(input);
    }

    /// <summary>
    /// Registers <paramref name="tensor"/> as a parameter named <paramref name="name"/> and returns it: a leaf that
    /// requires grad (a non-leaf is detached first, as <c>nn.Parameter(t)</c> does; the data is shared).
    /// </summary>
    /// <param name="name">The parameter's name within this module (no dots).</param>
    /// <param name="tensor">A floating-point tensor.</param>
    protected Tensor RegisterParameter(string name, Tensor tensor)
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(tensor);
        var parameter = tensor.IsLeaf ? tensor : tensor.Detach();
        parameter.RequiresGrad = true;
        TensorScope.Untrack(parameter); // the module owns it, whatever scope it was created in
        _parameters.Add(new(name, parameter));
        return parameter;
    }

    /// <summary>
    /// Registers a buffer: state that is saved in the state dict but is not a parameter (no gradient, not given to
    /// optimizers), e.g. running statistics.
    /// </summary>
    /// <param name="name">The buffer's name within this module (no dots).</param>
    /// <param name="tensor">The buffer.</param>
    protected Tensor RegisterBuffer(string name, Tensor tensor)
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(tensor);
        TensorScope.Untrack(tensor);
        _buffers.Add(new(name, tensor));
        return tensor;
    }

    /// <summary>Registers <paramref name="module"/> as a child named <paramref name="name"/> and returns it.</summary>
    /// <param name="name">The child's name within this module (no dots).</param>
    /// <param name="module">The child module.</param>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(module);
        if (ReferenceEquals(module, this)) throw new ArgumentException("A module cannot be its own child.", nameof(module));
        _children.Add(new(name, module));
        return module;
    }

    private void CheckName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('.')) throw new ArgumentException($"Names cannot contain \".\", got \"{name}\".", nameof(name));
        if (_parameters.Exists(p => p.Key == name) || _buffers.Exists(b => b.Key == name) || _children.Exists(c => c.Key == name))
            throw new ArgumentException($"{GetType().Name} already has an attribute named \"{name}\".", nameof(name));
    }

    /// <summary>The parameters of this module and (when <paramref name="recurse"/>) of its descendants, each once.</summary>
    /// <param name="recurse">Include the parameters of descendants.</param>
    public IEnumerable<Tensor> Parameters(bool recurse = true)
    {
        foreach (var (_, p) in NamedParameters(recurse: recurse)) yield return p;
    }

    /// <summary>
    /// The parameters with their dotted names ("0.weight", "fc1.bias"), in registration order, depth first;
    /// a tensor shared by two modules is listed once, under its first name (as PyTorch does).
    /// </summary>
    /// <param name="prefix">Prepended (with a dot) to every name.</param>
    /// <param name="recurse">Include the parameters of descendants.</param>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters(string prefix = "", bool recurse = true)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (path, module) in recurse ? NamedModules(prefix) : [(prefix, this)])
            foreach (var (name, p) in module._parameters)
                if (seen.Add(p)) yield return (Join(path, name), p);
    }

    /// <summary>The buffers with their dotted names, in the order of <see cref="NamedParameters"/>.</summary>
    /// <param name="prefix">Prepended (with a dot) to every name.</param>
    /// <param name="recurse">Include the buffers of descendants.</param>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(string prefix = "", bool recurse = true)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (path, module) in recurse ? NamedModules(prefix) : [(prefix, this)])
            foreach (var (name, b) in module._buffers)
                if (seen.Add(b)) yield return (Join(path, name), b);
    }

    /// <summary>The direct children, in registration order.</summary>
    public IEnumerable<Module> Children()
    {
        foreach (var (_, child) in _children) yield return child;
    }

    /// <summary>The direct children with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren()
    {
        foreach (var (name, child) in _children) yield return (name, child);
    }

    /// <summary>This module and every descendant, depth first, each once.</summary>
    public IEnumerable<Module> Modules()
    {
        foreach (var (_, m) in NamedModules()) yield return m;
    }

    /// <summary>This module (named <paramref name="prefix"/>) and every descendant with its dotted path, depth first, each once.</summary>
    /// <param name="prefix">The name given to this module.</param>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        var seen = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(string, Module)>();
        stack.Push((prefix, this));
        while (stack.Count > 0)
        {
            var (path, module) = stack.Pop();
            if (!seen.Add(module)) continue;
            yield return (path, module);
            for (int i = module._children.Count - 1; i >= 0; i--)
                stack.Push((Join(path, module._children[i].Key), module._children[i].Value));
        }
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    /// <summary>Sets training mode on this module and every descendant; returns this module.</summary>
    /// <param name="mode">True for training, false for evaluation.</param>
    public Module Train(bool mode = true)
    {
        foreach (var m in Modules()) m.Training = mode;
        return this;
    }

    /// <summary>Sets evaluation mode (<c>Train(false)</c>) on this module and every descendant; returns this module.</summary>
    public Module Eval() => Train(false);

    /// <summary>Resets the gradients of every parameter to null (PyTorch's default <c>zero_grad(set_to_none=True)</c>).</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.ZeroGrad();
    }

    /// <summary>
    /// The parameters and buffers by dotted name, in order (PyTorch's <c>state_dict()</c>). The values share storage
    /// with the module's tensors but are detached from the graph.
    /// </summary>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        var state = new OrderedDictionary<string, Tensor>();
        // PyTorch orders each module's parameters, then its buffers, then recurses; NamedModules gives that order.
        foreach (var (path, module) in NamedModules())
        {
            foreach (var (name, p) in module._parameters) state.TryAdd(Join(path, name), p.Detach());
            foreach (var (name, b) in module._buffers) state.TryAdd(Join(path, name), b.Detach());
        }
        return state;
    }

    /// <summary>
    /// Copies values from <paramref name="stateDict"/> into this module's parameters and buffers, in place (the
    /// tensors keep their identity, so optimizers holding them go on working). Values of another floating dtype are
    /// converted. With <paramref name="strict"/>, missing or unexpected keys throw, listing them as PyTorch does;
    /// otherwise they are returned.
    /// </summary>
    /// <param name="stateDict">Tensors by dotted name, e.g. from <see cref="StateDict"/> or a safetensors file.</param>
    /// <param name="strict">Require the keys to match exactly.</param>
    public LoadStateDictResult LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var own = StateDict();
        var missing = own.Keys.Where(k => !stateDict.ContainsKey(k)).ToList();
        var unexpected = stateDict.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var errors = new List<string>();
        if (strict)
        {
            if (unexpected.Count > 0) errors.Add($"Unexpected key(s) in state_dict: {string.Join(", ", unexpected.Select(k => $"\"{k}\""))}.");
            if (missing.Count > 0) errors.Add($"Missing key(s) in state_dict: {string.Join(", ", missing.Select(k => $"\"{k}\""))}.");
        }
        var copies = new List<(Tensor Source, Tensor Destination)>();
        foreach (var (key, destination) in own)
        {
            if (!stateDict.TryGetValue(key, out var source)) continue;
            if (source is null || !Shapes.SameShape(source.Shape, destination.Shape))
                errors.Add($"size mismatch for {key}: copying a param with shape {(source is null ? "null" : Shapes.Format(source.Shape))} from checkpoint, the shape in current model is {Shapes.Format(destination.Shape)}.");
            else if (source.DType.IsFloatingPoint() != destination.DType.IsFloatingPoint())
                errors.Add($"dtype mismatch for {key}: copying a {source.DType.TorchName()} tensor into a {destination.DType.TorchName()} one.");
            else copies.Add((source, destination));
        }
        if (errors.Count > 0)
            throw new InvalidOperationException($"Error(s) in loading state_dict for {GetType().Name}:\n\t{string.Join("\n\t", errors)}");
        // Validate everything before writing anything, so a failed load leaves the module unchanged.
        using (GradMode.NoGrad())
        {
            foreach (var (source, destination) in copies)
            {
                Kernels.CopyInto(source, destination);
                destination.BumpVersion();
            }
        }
        return new LoadStateDictResult(missing, unexpected);
    }

    /// <summary>The part inside the parentheses of this module's <see cref="ToString"/>, e.g. "in_features=784, out_features=256, bias=True".</summary>
    protected virtual string ExtraRepr() => "";

    /// <summary>A PyTorch-style description of the module tree, e.g. <c>Sequential(\n  (0): Linear(in_features=2, out_features=1, bias=True)\n)</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder(GetType().Name).Append('(').Append(ExtraRepr());
        if (_children.Count > 0)
        {
            sb.Append('\n');
            foreach (var (name, child) in _children)
                sb.Append("  (").Append(name).Append("): ").Append(child.ToString().Replace("\n", "\n  ")).Append('\n');
        }
        return sb.Append(')').ToString();
    }

    /// <summary>PyTorch's printing of a bool.</summary>
    private protected static string PyBool(bool value) => value ? "True" : "False";

    /// <summary>Python's repr of a float: 0.5, 1e-05.</summary>
    private protected static string PyFloat(double value)
    {
        var s = value.ToString(System.Globalization.CultureInfo.InvariantCulture).ToLowerInvariant();
        return s.Contains('.') || s.Contains('e') || s.Contains("inf") || s.Contains("nan") ? s : s + ".0";
    }
}

/// <summary>What <see cref="Module.LoadStateDict"/> did not match (PyTorch's <c>_IncompatibleKeys</c>).</summary>
/// <param name="MissingKeys">Keys of the module that the state dict lacked (left unchanged).</param>
/// <param name="UnexpectedKeys">Keys of the state dict that the module does not have (ignored).</param>
public sealed record LoadStateDictResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys);
