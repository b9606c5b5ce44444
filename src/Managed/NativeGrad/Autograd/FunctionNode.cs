namespace NativeGrad.Autograd;

/// <summary>
/// The context an op's backward formula runs in: its saved tensors, which inputs need a gradient, and the
/// forward inputs' shapes. Written for single-output ops; the formula returns one gradient per forward input.
/// </summary>
public sealed class BackwardContext
{
    private readonly SavedTensor[] _saved;
    private readonly bool[] _needsInputGrad;

    internal BackwardContext(SavedTensor[] saved, bool[] needsInputGrad)
    {
        _saved = saved;
        _needsInputGrad = needsInputGrad;
    }

    /// <summary>The tensors saved in forward, checked for in-place modification and for having been freed.</summary>
    public Tensor Saved(int index) => _saved[index].Unpack();

    /// <summary>Whether the forward input <paramref name="index"/> needs a gradient.</summary>
    public bool NeedsInputGrad(int index) => _needsInputGrad[index];

    internal void Release()
    {
        foreach (var s in _saved) s.Release();
    }

    internal IEnumerable<string> Describe() => _saved.Select(s => s.Describe());
}

/// <summary>The backward formula of an op: gradients for each forward input from the output's gradient.</summary>
public delegate Tensor?[] BackwardFormula(BackwardContext ctx, Tensor grad);

/// <summary>The node every built-in op records: a PyTorch name, saved tensors and a backward formula.</summary>
internal sealed class FunctionNode : BackwardNode
{
    private readonly BackwardFormula _formula;
    private readonly BackwardContext _context;
    private readonly long[]?[] _inputShapes;
    private readonly DType[] _inputDTypes;

    public FunctionNode(string name, GradientEdge[] next, SavedTensor[] saved, bool[] needsInputGrad, long[]?[] inputShapes, DType[] inputDTypes, BackwardFormula formula)
        : base(name, next)
    {
        _formula = formula;
        _context = new BackwardContext(saved, needsInputGrad);
        _inputShapes = inputShapes;
        _inputDTypes = inputDTypes;
    }

    internal override Tensor?[] Apply(Tensor?[] gradOutputs)
    {
        var grad = gradOutputs[0] ?? throw new InvalidOperationException($"{Name}: no gradient reached this node.");
        var grads = _formula(_context, grad);
        if (grads.Length != Next.Length)
            throw new InvalidOperationException($"function {Name} returned an incorrect number of gradients (expected {Next.Length}, got {grads.Length})");
        // As PyTorch's validate_outputs: gradients for inputs that need none are dropped, broadcast gradients are
        // summed back to the input's shape, and anything else is a bug in the formula, reported as such.
        for (int i = 0; i < grads.Length; i++)
        {
            if (grads[i] is not { } g) continue;
            if (Next[i].Node is null) { grads[i] = null; continue; }
            var shape = _inputShapes[i]!;
            if (!Shapes.SameShape(g.Shape, shape))
            {
                if (!Ops.ShapeOps.IsExpandableTo(shape, g.ShapeArray))
                    throw new InvalidOperationException(
                        $"Function {Name} returned an invalid gradient at index {i} - got {Shapes.Format(g.Shape)} but expected shape compatible with {Shapes.Format(shape)}");
                g = g.SumToShape(shape);
            }
            if (g.DType != _inputDTypes[i]) g = g.To(_inputDTypes[i]);
            grads[i] = g;
        }
        return grads;
    }

    internal override void ReleaseSavedTensors() => _context.Release();

    internal override IEnumerable<string> DescribeSavedTensors() => _context.Describe();
}
