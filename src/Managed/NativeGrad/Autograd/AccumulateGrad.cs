namespace NativeGrad.Autograd;

/// <summary>The sink node of a leaf that requires grad: adds the incoming gradient into <see cref="Tensor.Grad"/>.</summary>
internal sealed class AccumulateGrad : BackwardNode
{
    private readonly WeakReference<Tensor> _variable;

    public AccumulateGrad(Tensor variable) : base("AccumulateGrad", [])
    {
        _variable = new WeakReference<Tensor>(variable);
    }

    public Tensor? Variable => _variable.TryGetTarget(out var t) ? t : null;

    internal override Tensor?[] Apply(Tensor?[] gradOutputs) => [];

    /// <summary>PyTorch's accumulation: the first gradient is stored (a copy, unless building a graph), later ones added.</summary>
    internal void Accumulate(Tensor grad, bool createGraph)
    {
        var variable = Variable;
        if (variable is null) return;
        var existing = variable.Grad;
        if (existing is null)
        {
            variable.Grad = createGraph ? grad : grad.DetachedCopy();
        }
        else if (createGraph || existing.RequiresGrad)
        {
            variable.Grad = existing + grad;
        }
        else
        {
            using (GradMode.NoGrad()) existing.AddInPlaceUnchecked(grad);
        }
        foreach (var hook in variable.PostAccumulateHooks()) hook(variable);
    }
}
