namespace NativeGrad.Autograd;

/// <summary>
/// The context an op's backward formula runs in: its saved tensors, which inputs need a gradient, and the
/// forward inputs' shapes. Written for single-output ops; the formula returns one gradient per forward input.
/// A view of the node (no allocation per backward).
/// </summary>
public readonly struct BackwardContext
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
public delegate Tensor?[] BackwardFormula(BackwardContext ctx, Tensor grad);

/// <summary>What a node keeps of each forward input, to validate the gradient it returns for it.</summary>
internal readonly record struct InputMeta(long[]? Shape, DType DType);

/// <summary>The node every built-in op records: a PyTorch name, saved tensors and a backward formula.</summary>
internal sealed class FunctionNode : BackwardNode
{
    private readonly BackwardFormula _formula;
    private readonly InputMeta[] _inputs;
    internal readonly SavedTensor[] SavedTensors;
    internal readonly double Scalar;

    public FunctionNode(string name, GradientEdge[] next, SavedTensor[] saved, InputMeta[] inputs, BackwardFormula formula, double scalar = 0)
        : base(name, next)
    {
        _formula = formula;
        SavedTensors = saved;
        _inputs = inputs;
        Scalar = scalar;
    }

    internal long[] InputShape(int index) => _inputs[index].Shape!;

    internal override Tensor?[] Apply(Tensor?[] gradOutputs)
    {
        var grad = gradOutputs[0] ?? throw new InvalidOperationException($"{Name}: no gradient reached this node.");
        var grads = _formula(new BackwardContext(this), grad);
        if (grads.Length != Next.Length)
            throw new InvalidOperationException($"function {Name} returned an incorrect number of gradients (expected {Next.Length}, got {grads.Length})");
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
