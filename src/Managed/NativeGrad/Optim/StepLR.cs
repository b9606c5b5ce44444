namespace NativeGrad.Optim;

/// <summary>
/// Multiplies the learning rate by <see cref="Gamma"/> every <see cref="StepSize"/> epochs, PyTorch's <c>StepLR</c>:
/// lr = base_lr · γ^⌊epoch / step_size⌋.
/// </summary>
/// <example>
/// <code>
/// var scheduler = new StepLR(opt, stepSize: 30, gamma: 0.1);
/// for (int epoch = 0; epoch &lt; 100; epoch++) { Train(); scheduler.Step(); }
/// </code>
/// </example>
public sealed class StepLR : LRScheduler
{
    /// <summary>Attaches the schedule.</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="stepSize">Epochs between decays.</param>
    /// <param name="gamma">The decay factor.</param>
    /// <param name="lastEpoch">The index of the last epoch when resuming (-1: start afresh).</param>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1, int lastEpoch = -1)
        : base(optimizer, lastEpoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stepSize);
        StepSize = stepSize;
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>Epochs between decays.</summary>
    public int StepSize { get; }

    /// <summary>The decay factor.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    public override double LearningRateAt(double baseLearningRate, int epoch) => baseLearningRate * Math.Pow(Gamma, epoch / StepSize);
}
