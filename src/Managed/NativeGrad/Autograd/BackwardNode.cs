namespace NativeGrad.Autograd;

/// <summary>An edge of the backward graph: the node that receives a gradient and which of its forward outputs it is for.</summary>
/// <param name="Node">The receiving node (null: the input does not require grad).</param>
/// <param name="InputNr">Which forward output of <paramref name="Node"/> this gradient belongs to.</param>
public readonly record struct GradientEdge(BackwardNode? Node, int InputNr);

/// <summary>
/// A node of the backward graph, PyTorch's <c>torch.autograd.graph.Node</c>: the <c>grad_fn</c> of a tensor.
/// Its <see cref="Name"/> is PyTorch's (<c>AddBackward0</c>, <c>MmBackward0</c>, <c>AccumulateGrad</c>, …).
/// </summary>
public abstract partial class BackwardNode
{
    private static long _nextSequence;
    private List<Func<Tensor?[], Tensor?[]?>>? _hooks;
    private List<Func<Tensor?[], Tensor?[]?>>? _preHooks;

    internal GradientEdge[] Next;

    // The engine's per-run state, kept on the node while one backward pass has claimed it (EngineRun = that pass's
    // id): the incoming-gradient slots, instead of a dictionary keyed by node. A pass that finds a
    // node claimed by another (concurrent or nested) pass uses its dictionaries instead.
    internal int EngineRun;
    internal Tensor?[]? EngineGrads;

    /// <summary>Creates a node with edges to the nodes that produced its forward inputs.</summary>
    protected BackwardNode(string name, GradientEdge[] next)
    {
        Next = next;
        Begin(name);
    }

    /// <summary>A node whose edges are set before its caller calls <see cref="Begin"/> (a node that can live again, see BackwardNode.Recycling.cs).</summary>
    private protected BackwardNode(GradientEdge[] next, bool recyclable)
    {
        Next = next;
        Recyclable = recyclable;
    }

    /// <summary>
    /// Starts the node's life once its edges are set: a counted reference to each node they lead to, its name, a new
    /// creation number, the anomaly-mode trace.
    /// </summary>
    private protected void Begin(string name)
    {
        foreach (var edge in Next) Retain(edge.Node);
        Name = name;
        SequenceNr = Interlocked.Increment(ref _nextSequence);
        ForwardTrace = AnomalyMode.IsEnabled ? Environment.StackTrace : null;
    }

    /// <summary>Where the forward op ran (recorded only in anomaly mode, for the error message).</summary>
    internal string? ForwardTrace { get; private set; }

    /// <summary>PyTorch's name for this node, e.g. <c>MulBackward0</c>.</summary>
    public string Name { get; private set; } = "";

    /// <summary>Creation order; later nodes run first when several are ready (as in PyTorch).</summary>
    public long SequenceNr { get; private set; }

    /// <summary>The nodes that receive this node's gradients, one per forward input (PyTorch's <c>next_functions</c>).</summary>
    public IReadOnlyList<GradientEdge> NextFunctions
    {
        get
        {
            foreach (var edge in Next) edge.Node?.Pin(); // handed to user code: they never live again
            return Next;
        }
    }

    /// <summary>How many forward outputs (and so incoming gradients) this node has.</summary>
    internal virtual int NumOutputs => 1;

    /// <summary>Computes the gradients for the forward inputs from the gradients of the forward outputs.</summary>
    internal abstract Tensor?[] Apply(Tensor?[] gradOutputs);

    /// <summary>Shapes of what the node saved for backward ("freed" once released), for graph pictures.</summary>
    internal virtual IEnumerable<string> DescribeSavedTensors() => [];

    /// <summary>Frees what the node saved for backward (after a backward without retainGraph).</summary>
    internal virtual void ReleaseSavedTensors(ThreadState state) { }

    /// <summary>
    /// Registers a hook called after the node computed its input gradients: <c>hook(gradInputs)</c>; a non-null
    /// return replaces them. Returns a handle that removes the hook.
    /// </summary>
    public RemovableHandle RegisterHook(Func<Tensor?[], Tensor?[]?> hook)
    {
        Pin(); // the handle refers to this node
        (_hooks ??= []).Add(hook);
        return new RemovableHandle(() => _hooks.Remove(hook));
    }

    /// <summary>Registers a hook called with the node's incoming gradients before it runs; a non-null return replaces them.</summary>
    public RemovableHandle RegisterPrehook(Func<Tensor?[], Tensor?[]?> hook)
    {
        Pin();
        (_preHooks ??= []).Add(hook);
        return new RemovableHandle(() => _preHooks.Remove(hook));
    }

    /// <summary>Hooks registered on the tensors this node produced (by output number), run on their gradients.</summary>
    private List<(int OutputNr, Func<Tensor, Tensor?> Hook)>? _tensorHooks;

    internal RemovableHandle AddTensorHook(int outputNr, Func<Tensor, Tensor?> hook)
    {
        var entry = (outputNr, hook);
        Pin();
        (_tensorHooks ??= []).Add(entry);
        return new RemovableHandle(() => _tensorHooks.Remove(entry));
    }

    /// <summary>True when user code (a hook) may see and keep this node's gradients.</summary>
    internal bool HasHooks => _tensorHooks is { Count: > 0 } || _hooks is { Count: > 0 } || _preHooks is { Count: > 0 };

    internal Tensor?[] RunTensorHooks(Tensor?[] grads)
    {
        if (_tensorHooks is null) return grads;
        foreach (var (outputNr, hook) in _tensorHooks.ToArray())
        {
            if (grads[outputNr] is { } g) grads[outputNr] = hook(g) ?? g;
        }
        return grads;
    }

    internal Tensor?[] Run(Tensor?[] gradOutputs)
    {
        if (_preHooks is not null)
            foreach (var hook in _preHooks.ToArray()) gradOutputs = hook(gradOutputs) ?? gradOutputs;
        var gradInputs = Apply(gradOutputs);
        if (_hooks is not null)
            foreach (var hook in _hooks.ToArray()) gradInputs = hook(gradInputs) ?? gradInputs;
        return gradInputs;
    }

    /// <summary>The graph below this node as Graphviz DOT text (see <see cref="GraphDot"/>).</summary>
    public string ToDot(bool showSavedTensors = false) => GraphDot.Write(this, showSavedTensors);

    /// <summary>The node's name, as PyTorch prints it.</summary>
    public override string ToString() => $"<{Name}>";
}

/// <summary>Removes a registered hook when disposed or when <see cref="Remove"/> is called.</summary>
public sealed class RemovableHandle : IDisposable
{
    private Action? _remove;

    internal RemovableHandle(Action remove) => _remove = remove;

    /// <summary>Removes the hook; calling it again does nothing.</summary>
    public void Remove() => Interlocked.Exchange(ref _remove, null)?.Invoke();

    /// <inheritdoc cref="Remove"/>
    public void Dispose() => Remove();
}
