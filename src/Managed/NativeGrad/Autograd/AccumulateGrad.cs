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
    /// <param name="grad">The gradient that reached the leaf.</param>
    /// <param name="createGraph">Whether the backward pass is being recorded.</param>
    /// <param name="exclusive">
    /// The engine's word that no one else holds <paramref name="grad"/> (not a root gradient, not in two places, not
    /// seen by a hook): then it can become <see cref="Tensor.Grad"/> itself, without a copy, when its storage is its own.
    /// </param>
    /// <param name="state">This thread's state.</param>
    /// <returns>Whether user code ran (the leaf's post-accumulate-grad hooks).</returns>
    internal bool Accumulate(Tensor grad, bool createGraph, bool exclusive, ThreadState state)
    {
        var variable = Variable;
        if (variable is null) return false;
        var existing = variable.Grad;
        if (existing is null)
        {
            bool steal = exclusive && !createGraph && !grad.RequiresGrad && !grad.IsSavedAlias && grad.IsContiguous && grad.Storage.Holders == 1
                         && grad.DType == variable.DType;
            // .Grad is owned by the leaf (ZeroGrad and Dispose free it), so it must never be a tensor someone else holds.
            variable.Grad = createGraph ? (exclusive ? grad : grad.Clone()) : steal ? grad : grad.DetachedCopy(state);
            TensorScope.Untrack(variable.Grad, state); // the gradient belongs to the leaf, not to the scope backward ran in
        }
        else if (createGraph || existing.RequiresGrad)
        {
            variable.Grad = existing + grad;
            TensorScope.Untrack(variable.Grad, state);
        }
        else
        {
            using (GradMode.NoGrad(state)) existing.AddInPlaceUnchecked(grad);
        }
        if (!variable.HasPostAccumulateHooks) return false;
        foreach (var hook in variable.PostAccumulateHooks()) hook(variable);
        return true;
    }
}
