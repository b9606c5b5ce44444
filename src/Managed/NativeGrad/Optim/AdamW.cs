namespace NativeGrad.Optim;

/// <summary>
/// Adam with decoupled weight decay, exactly as PyTorch's <c>torch.optim.AdamW</c>: before the Adam update of
/// <see cref="Adam"/> (without the L2 term) each parameter is shrunk, p = p · (1 - lr · weight_decay).
/// </summary>
/// <example>
/// <code>
/// var opt = new AdamW(model.Parameters(), lr: 1e-3, weightDecay: 1e-2);
/// </code>
/// </example>
public sealed class AdamW : Adam
{
    /// <summary>Creates the optimizer over one group of parameters.</summary>
    /// <param name="parameters">Leaf tensors that require grad.</param>
    /// <param name="lr">The learning rate.</param>
    /// <param name="beta1">The decay of the first moment estimate.</param>
    /// <param name="beta2">The decay of the second moment estimate.</param>
    /// <param name="eps">Added to the denominator for stability.</param>
    /// <param name="weightDecay">The decoupled weight decay (PyTorch's default 1e-2).</param>
    /// <param name="amsgrad">Use the maximum of past second moments (AMSGrad).</param>
    /// <param name="maximize">Maximise the objective instead of minimising it.</param>
    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
                 double weightDecay = 1e-2, bool amsgrad = false, bool maximize = false)
        : base(parameters, lr, beta1, beta2, eps, weightDecay, amsgrad, maximize, decoupledWeightDecay: true)
    {
    }

    /// <summary>Creates the optimizer over several groups.</summary>
    /// <param name="groups">The groups; a group without a learning rate takes <paramref name="lr"/>.</param>
    /// <param name="lr">The default learning rate.</param>
    /// <param name="beta1">The decay of the first moment estimate.</param>
    /// <param name="beta2">The decay of the second moment estimate.</param>
    /// <param name="eps">Added to the denominator for stability.</param>
    /// <param name="weightDecay">The decoupled weight decay (PyTorch's default 1e-2).</param>
    /// <param name="amsgrad">Use the maximum of past second moments (AMSGrad).</param>
    /// <param name="maximize">Maximise the objective instead of minimising it.</param>
    public AdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
                 double weightDecay = 1e-2, bool amsgrad = false, bool maximize = false)
        : base(groups, lr, beta1, beta2, eps, weightDecay, amsgrad, maximize, decoupledWeightDecay: true)
    {
    }
}
