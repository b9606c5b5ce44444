namespace NativeGrad.Optim;

/// <summary>
/// Cosine annealing, PyTorch's <c>CosineAnnealingLR</c>: lr = η_min + (base_lr - η_min) · (1 + cos(π · epoch / T_max)) / 2,
/// from base_lr at epoch 0 down to η_min at T_max (and back up after, as PyTorch's schedule does).
/// </summary>
/// <example>
/// <code>
/// var scheduler = new CosineAnnealingLR(opt, tMax: epochs);
/// </code>
/// </example>
public sealed class CosineAnnealingLR : LRScheduler
{
    /// <summary>Attaches the schedule.</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="tMax">Epochs of the half period (until η_min).</param>
    /// <param name="etaMin">The minimum learning rate.</param>
    /// <param name="lastEpoch">The index of the last epoch when resuming (-1: start afresh).</param>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0.0, int lastEpoch = -1)
        : base(optimizer, lastEpoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tMax);
        TMax = tMax;
        EtaMin = etaMin;
        InitialStep();
    }

    /// <summary>Epochs of the half period.</summary>
    public int TMax { get; }

    /// <summary>The minimum learning rate.</summary>
    public double EtaMin { get; }

    /// <inheritdoc/>
    public override double LearningRateAt(double baseLearningRate, int epoch)
        => EtaMin + (baseLearningRate - EtaMin) * (1.0 + Math.Cos(Math.PI * epoch / TMax)) / 2.0;
}
