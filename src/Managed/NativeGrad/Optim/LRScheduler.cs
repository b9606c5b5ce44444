namespace NativeGrad.Optim;

/// <summary>
/// The base of the learning-rate schedulers, PyTorch's <c>torch.optim.lr_scheduler.LRScheduler</c>. Creating a
/// scheduler records each group's initial learning rate and sets epoch 0; each <see cref="Step"/> advances the epoch
/// and sets every group's rate from the schedule's closed form (PyTorch's <c>_get_closed_form_lr</c>), so the rates
/// do not drift through repeated multiplication. Call it once per epoch, after the optimizer's steps.
/// </summary>
public abstract class LRScheduler
{
    private readonly double[] _lastLearningRates;

    /// <summary>Attaches the scheduler to <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose group learning rates are scheduled.</param>
    /// <param name="lastEpoch">The index of the last epoch when resuming (-1: start afresh from the current rates).</param>
    protected LRScheduler(Optimizer optimizer, int lastEpoch = -1)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (lastEpoch < -1) throw new ArgumentOutOfRangeException(nameof(lastEpoch), lastEpoch, "lastEpoch must be -1 or an epoch index.");
        Optimizer = optimizer;
        foreach (var group in optimizer.ParamGroups)
        {
            if (lastEpoch == -1) group.InitialLearningRate ??= group.LearningRate;
            else if (group.InitialLearningRate is null)
                throw new InvalidOperationException("param 'initial_lr' is not specified in param_groups when resuming an optimizer (lastEpoch > -1)");
        }
        BaseLearningRates = optimizer.ParamGroups.Select(g => g.InitialLearningRate!.Value).ToArray();
        _lastLearningRates = new double[optimizer.ParamGroups.Count];
        LastEpoch = lastEpoch;
    }

    /// <summary>Sets the rates of the starting epoch. Derived constructors call it once their parameters are set.</summary>
    private protected void InitialStep() => Step();

    /// <summary>The scheduled optimizer.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The index of the current epoch (0 after construction).</summary>
    public int LastEpoch { get; private set; }

    /// <summary>Each group's initial learning rate.</summary>
    public IReadOnlyList<double> BaseLearningRates { get; }

    /// <summary>The learning rates set by the last step (PyTorch's <c>get_last_lr()</c>).</summary>
    public IReadOnlyList<double> LastLearningRates => _lastLearningRates;

    /// <summary>Advances to the next epoch and sets every group's learning rate.</summary>
    public void Step()
    {
        LastEpoch++;
        for (int i = 0; i < Optimizer.ParamGroups.Count; i++)
        {
            double lr = LearningRateAt(BaseLearningRates[i], LastEpoch);
            Optimizer.ParamGroups[i].LearningRate = lr;
            _lastLearningRates[i] = lr;
        }
    }

    /// <summary>The learning rate of a group whose initial rate is <paramref name="baseLearningRate"/> at <paramref name="epoch"/>.</summary>
    /// <param name="baseLearningRate">The group's initial learning rate.</param>
    /// <param name="epoch">The epoch index (0 for the first).</param>
    public abstract double LearningRateAt(double baseLearningRate, int epoch);
}
