namespace NativeGrad.Autograd;

/// <summary>
/// The context an op's backward formula runs in: its saved tensors, which inputs need a gradient, and the
/// forward inputs' shapes. Written for single-output ops; the formula returns one gradient per forward input.
/// A view of the node (no allocation per backward).
/// </summary>
internal readonly struct BackwardContext
{
    private readonly FunctionNode _node;

    internal BackwardContext(FunctionNode node) => _node = node;

    /// <summary>The tensors saved in forward, checked for in-place modification and for having been freed.</summary>
    public Tensor Saved(int index) => _node.SavedTensors[index].Unpack();

    /// <summary>Whether the forward input <paramref name="index"/> needs a gradient.</summary>
    public bool NeedsInputGrad(int index) => _node.Next[index].Node is not null;

    /// <summary>The number the op recorded with its node (a scalar operand, an option): lets a formula be a static lambda, no closure per op.</summary>
    internal double Scalar => _node.Scalar;

    /// <summary>The shape of forward input <paramref name="index"/>.</summary>
    internal long[] InputShape(int index) => _node.InputShape(index);
}

/// <summary>The backward formula of an op: gradients for each forward input from the output's gradient.</summary>
internal delegate InputGrads BackwardFormula(BackwardContext ctx, Tensor grad);

/// <summary>What a node keeps of each forward input, to validate the gradient it returns for it.</summary>
internal readonly record struct InputMeta(long[]? Shape, DType DType);

/// <summary>
/// The node every built-in op records: a PyTorch name, saved tensors and a backward formula. It lives again once
/// nothing references it (see BackwardNode.Recycling.cs): its thread keeps spare nodes by arity, arrays included.
/// </summary>
internal sealed class FunctionNode : BackwardNode
{
    private BackwardFormula? _formula;
    private readonly InputMeta[] _inputs;
    internal readonly SavedTensor[] SavedTensors;
    internal double Scalar;

    private FunctionNode(int inputs, int saved) : base(new GradientEdge[inputs], recyclable: true)
    {
        _inputs = new InputMeta[inputs];
        SavedTensors = saved == 0 ? [] : new SavedTensor[saved];
        Revive();
    }

    /// <summary>
    /// A node for an op with <paramref name="inputs"/> inputs and <paramref name="saved"/> saved tensors, from this thread's spares
    /// when it has one: the caller fills <see cref="BackwardNode.Next"/> and the input shapes, then calls <see cref="Start"/>.
    /// </summary>
    internal static FunctionNode Rent(int inputs, int saved, ThreadState state)
    {
        if (state.SpareNodes is { } spares && spares.Take(inputs, saved) is { } node) return node;
        return new FunctionNode(inputs, saved);
    }

    /// <summary>Sets what a fresh op's node needs besides its edges (retained by <see cref="BackwardNode.Begin"/>) and saved tensors (filled after).</summary>
    internal void Start(string name, BackwardFormula formula, double scalar)
    {
        _formula = formula;
        Scalar = scalar;
        Begin(name);
    }

    internal void SetInput(int index, GradientEdge edge, InputMeta meta)
    {
        Next[index] = edge;
        _inputs[index] = meta;
    }

    private protected override void Reset(ThreadState state)
    {
        // One to four elements each: plain loops (Array.Clear's call costs more than the stores here).
        for (int i = 0; i < Next.Length; i++) Next[i] = default;
        for (int i = 0; i < _inputs.Length; i++) _inputs[i] = default;
        for (int i = 0; i < SavedTensors.Length; i++) SavedTensors[i] = default;
        _formula = null;
        (state.SpareNodes ??= new Spares()).Add(this);
    }

    /// <summary>A thread's spare nodes by arity (inputs 0-4, saved tensors 0-3; others are not kept).</summary>
    internal sealed class Spares
    {
        private const int MaxInputs = 4, MaxSaved = 3, MaxPerArity = 256;
        private readonly SlotList<FunctionNode>?[] _byArity = new SlotList<FunctionNode>?[(MaxInputs + 1) * (MaxSaved + 1)];

        public FunctionNode? Take(int inputs, int saved)
        {
            if (inputs > MaxInputs || saved > MaxSaved || _byArity[inputs * (MaxSaved + 1) + saved] is not { Count: > 0 } list) return null;
            var node = list.Pop();
            node.Revive();
            return node;
        }

        public void Add(FunctionNode node)
        {
            int inputs = node.Next.Length, saved = node.SavedTensors.Length;
            if (inputs > MaxInputs || saved > MaxSaved) return;
            var list = _byArity[inputs * (MaxSaved + 1) + saved] ??= new SlotList<FunctionNode>();
            if (list.Count < MaxPerArity) list.Add(node);
        }
    }

    internal long[] InputShape(int index) => _inputs[index].Shape!;

    internal override Tensor?[] Apply(Tensor?[] gradOutputs)
    {
        var grad = gradOutputs[0] ?? throw new InvalidOperationException($"{Name}: no gradient reached this node.");
        var computed = _formula!(new BackwardContext(this), grad);
        if (computed.Count != Next.Length)
            throw new InvalidOperationException($"function {Name} returned an incorrect number of gradients (expected {Next.Length}, got {computed.Count})");
        var grads = ThreadState.Current.GradArrays.Rent(computed.Count); // the engine gives it back once it distributed them
        computed.CopyTo(grads);
        // As PyTorch's validate_outputs: gradients for inputs that need none are dropped, broadcast gradients are
        // summed back to the input's shape, and anything else is a bug in the formula, reported as such.
        for (int i = 0; i < grads.Length; i++)
        {
            if (grads[i] is not { } g) continue;
            if (Next[i].Node is null) { grads[i] = null; continue; }
            var shape = _inputs[i].Shape!;
            if (!Shapes.SameShape(g.Shape, shape))
            {
                if (!Ops.ShapeOps.IsExpandableTo(shape, g.ShapeArray))
                    throw new InvalidOperationException(
                        $"Function {Name} returned an invalid gradient at index {i} - got {Shapes.Format(g.Shape)} but expected shape compatible with {Shapes.Format(shape)}");
                g = g.SumToShape(shape);
            }
            if (g.DType != _inputs[i].DType) g = g.To(_inputs[i].DType);
            grads[i] = g;
        }
        return grads;
    }

    internal override void ReleaseSavedTensors(ThreadState state)
    {
        for (int i = 0; i < SavedTensors.Length; i++) SavedTensors[i].Release(state);
    }

    internal override IEnumerable<string> DescribeSavedTensors() => SavedTensors.Select(s => s.Describe());
}
