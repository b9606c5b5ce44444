using NativeGrad.Backends;
using static NativeGrad.Optim.ParameterUpdate;

namespace NativeGrad.Optim;

/// <summary>
/// Adam, exactly as PyTorch's <c>torch.optim.Adam</c> (single-tensor path): for each parameter p with gradient g,
/// at step t (counted per parameter, from 1),
/// <code>
/// g = g + weight_decay · p                      (L2; g negated first when maximize)
/// m = β₁ m + (1 - β₁) g
/// v = β₂ v + (1 - β₂) g²
/// v̂ = max(v̂, v) with amsgrad, else v̂ = v
/// p = p - lr / (1 - β₁ᵗ) · m / (√v̂ / √(1 - β₂ᵗ) + eps)
/// </code>
/// The moments start at zero. <see cref="AdamW"/> decouples the weight decay instead.
/// </summary>
/// <example>
/// <code>
/// var opt = new Adam(model.Parameters(), lr: 1e-3);
/// </code>
/// </example>
public class Adam : Optimizer
{
    private sealed class State(Tensor expAvg, Tensor expAvgSq, Tensor? maxExpAvgSq)
    {
        public long Step;
        public readonly Tensor ExpAvg = expAvg;
        public readonly Tensor ExpAvgSq = expAvgSq;
        public readonly Tensor? MaxExpAvgSq = maxExpAvgSq;
    }

    private readonly Dictionary<Tensor, State> _state = new(ReferenceEqualityComparer.Instance);
    private readonly bool _decoupledWeightDecay;

    /// <summary>Creates the optimizer over one group of parameters.</summary>
    /// <param name="parameters">Leaf tensors that require grad.</param>
    /// <param name="lr">The learning rate.</param>
    /// <param name="beta1">The decay of the first moment estimate.</param>
    /// <param name="beta2">The decay of the second moment estimate.</param>
    /// <param name="eps">Added to the denominator for stability.</param>
    /// <param name="weightDecay">The L2 penalty added to the gradient.</param>
    /// <param name="amsgrad">Use the maximum of past second moments (AMSGrad).</param>
    /// <param name="maximize">Maximise the objective instead of minimising it.</param>
    public Adam(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
                double weightDecay = 0, bool amsgrad = false, bool maximize = false)
        : this(parameters, lr, beta1, beta2, eps, weightDecay, amsgrad, maximize, decoupledWeightDecay: false)
    {
    }

    /// <summary>Creates the optimizer over several groups.</summary>
    /// <param name="groups">The groups; a group without a learning rate takes <paramref name="lr"/>.</param>
    /// <param name="lr">The default learning rate.</param>
    /// <param name="beta1">The decay of the first moment estimate.</param>
    /// <param name="beta2">The decay of the second moment estimate.</param>
    /// <param name="eps">Added to the denominator for stability.</param>
    /// <param name="weightDecay">The L2 penalty added to the gradient.</param>
    /// <param name="amsgrad">Use the maximum of past second moments (AMSGrad).</param>
    /// <param name="maximize">Maximise the objective instead of minimising it.</param>
    public Adam(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
                double weightDecay = 0, bool amsgrad = false, bool maximize = false)
        : this(groups, lr, beta1, beta2, eps, weightDecay, amsgrad, maximize, decoupledWeightDecay: false)
    {
    }

    private protected Adam(IEnumerable<Tensor> parameters, double lr, double beta1, double beta2, double eps, double weightDecay, bool amsgrad, bool maximize, bool decoupledWeightDecay)
        : base(parameters, lr)
    {
        (Beta1, Beta2, Eps, WeightDecay, AmsGrad, Maximize) = Check(beta1, beta2, eps, weightDecay, amsgrad, maximize);
        _decoupledWeightDecay = decoupledWeightDecay;
    }

    private protected Adam(IEnumerable<ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay, bool amsgrad, bool maximize, bool decoupledWeightDecay)
        : base(groups, lr)
    {
        (Beta1, Beta2, Eps, WeightDecay, AmsGrad, Maximize) = Check(beta1, beta2, eps, weightDecay, amsgrad, maximize);
        _decoupledWeightDecay = decoupledWeightDecay;
    }

    private static (double, double, double, double, bool, bool) Check(double beta1, double beta2, double eps, double weightDecay, bool amsgrad, bool maximize)
    {
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"Invalid epsilon value: {eps}");
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, $"Invalid beta parameter at index 0: {beta1}");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, $"Invalid beta parameter at index 1: {beta2}");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, $"Invalid weight_decay value: {weightDecay}");
        return (beta1, beta2, eps, weightDecay, amsgrad, maximize);
    }

    /// <summary>The decay of the first moment estimate (β₁).</summary>
    public double Beta1 { get; }

    /// <summary>The decay of the second moment estimate (β₂).</summary>
    public double Beta2 { get; }

    /// <summary>Added to the denominator for stability.</summary>
    public double Eps { get; }

    /// <summary>The weight decay: an L2 penalty for Adam, decoupled for AdamW.</summary>
    public double WeightDecay { get; }

    /// <summary>Whether AMSGrad is used.</summary>
    public bool AmsGrad { get; }

    /// <summary>Whether the objective is maximised.</summary>
    public bool Maximize { get; }

    private protected override IEnumerable<Tensor> StateTensors()
    {
        foreach (var state in _state.Values)
        {
            yield return state.ExpAvg;
            yield return state.ExpAvgSq;
            if (state.MaxExpAvgSq is { } max) yield return max;
        }
    }

    private protected override void Update(ParamGroup group, Tensor parameter, Flat grad)
    {
        var p = Of(parameter);
        double lr = group.LearningRate;
        var scratch = Workspace(1, p.DType, p.Count);
        var direction = Workspace(2, p.DType, p.Count);
        var g = grad;
        if (Maximize)
        {
            Affine(direction, grad, -1.0);
            g = direction;
        }
        if (WeightDecay != 0)
        {
            if (_decoupledWeightDecay) Affine(p, p, 1.0 - lr * WeightDecay);
            else if (SameBuffer(g, grad))
            {
                Affine(direction, p, WeightDecay);
                Binary(BinaryOp.Add, direction, grad, direction);
                g = direction;
            }
            else AddScaled(direction, p, WeightDecay, scratch);
        }
        if (!_state.TryGetValue(parameter, out var state))
        {
            state = new State(StateTensor(parameter), StateTensor(parameter), AmsGrad ? StateTensor(parameter) : null);
            _state[parameter] = state;
        }
        long t = ++state.Step;
        var m = Of(state.ExpAvg);
        var v = Of(state.ExpAvgSq);
        Affine(m, m, Beta1);
        AddScaled(m, g, 1.0 - Beta1, scratch);
        Affine(v, v, Beta2);
        Binary(BinaryOp.Mul, scratch, g, g);
        AddScaled(v, scratch, 1.0 - Beta2, scratch);
        var vHat = v;
        if (state.MaxExpAvgSq is { } maxTensor)
        {
            vHat = Of(maxTensor);
            Binary(BinaryOp.Maximum, vHat, vHat, v);
            maxTensor.BumpVersion();
        }
        state.ExpAvg.BumpVersion();
        state.ExpAvgSq.BumpVersion();

        double biasCorrection1 = 1.0 - Math.Pow(Beta1, t);
        double biasCorrection2Sqrt = Math.Sqrt(1.0 - Math.Pow(Beta2, t));
        double stepSize = lr / biasCorrection1;
        Sqrt(scratch, vHat);
        Affine(scratch, scratch, 1.0 / biasCorrection2Sqrt, Eps); // denom = √v̂ / √(1 - β₂ᵗ) + eps
        Binary(BinaryOp.Div, scratch, m, scratch);
        AddScaled(p, scratch, -stepSize, scratch);
    }
}
