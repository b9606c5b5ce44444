using NativeGrad.Backends;
using static NativeGrad.Optim.ParameterUpdate;

namespace NativeGrad.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay, exactly as
/// PyTorch's <c>torch.optim.SGD</c>: for each parameter p with gradient g,
/// <code>
/// d = g + weight_decay · p                      (g negated first when maximize)
/// b = d                                         on the first step, else b = momentum · b + (1 - dampening) · d
/// d = d + momentum · b  (nesterov)  or  d = b   (when momentum ≠ 0)
/// p = p - lr · d
/// </code>
/// </summary>
/// <example>
/// <code>
/// var opt = new SGD(model.Parameters(), lr: 0.05, momentum: 0.9);
/// opt.ZeroGrad(); loss.Backward(); opt.Step();
/// </code>
/// </example>
public sealed class SGD : Optimizer
{
    private readonly Dictionary<Tensor, Tensor> _momentumBuffers = new(ReferenceEqualityComparer.Instance);

    /// <summary>Creates the optimizer over one group of parameters.</summary>
    /// <param name="parameters">Leaf tensors that require grad.</param>
    /// <param name="lr">The learning rate.</param>
    /// <param name="momentum">The momentum factor (0: plain SGD).</param>
    /// <param name="dampening">Dampening of the momentum.</param>
    /// <param name="weightDecay">The L2 penalty added to the gradient.</param>
    /// <param name="nesterov">Use Nesterov momentum (needs momentum &gt; 0 and dampening 0).</param>
    /// <param name="maximize">Maximise the objective instead of minimising it.</param>
    public SGD(IEnumerable<Tensor> parameters, double lr = 1e-3, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false, bool maximize = false)
        : base(parameters, lr)
    {
        (Momentum, Dampening, WeightDecay, Nesterov, Maximize) = Check(momentum, dampening, weightDecay, nesterov, maximize);
    }

    /// <summary>Creates the optimizer over several groups.</summary>
    /// <param name="groups">The groups; a group without a learning rate takes <paramref name="lr"/>.</param>
    /// <param name="lr">The default learning rate.</param>
    /// <param name="momentum">The momentum factor (0: plain SGD).</param>
    /// <param name="dampening">Dampening of the momentum.</param>
    /// <param name="weightDecay">The L2 penalty added to the gradient.</param>
    /// <param name="nesterov">Use Nesterov momentum (needs momentum &gt; 0 and dampening 0).</param>
    /// <param name="maximize">Maximise the objective instead of minimising it.</param>
    public SGD(IEnumerable<ParamGroup> groups, double lr = 1e-3, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false, bool maximize = false)
        : base(groups, lr)
    {
        (Momentum, Dampening, WeightDecay, Nesterov, Maximize) = Check(momentum, dampening, weightDecay, nesterov, maximize);
    }

    private static (double, double, double, bool, bool) Check(double momentum, double dampening, double weightDecay, bool nesterov, bool maximize)
    {
        if (!(momentum >= 0)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, $"Invalid momentum value: {momentum}");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, $"Invalid weight_decay value: {weightDecay}");
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException("Nesterov momentum requires a momentum and zero dampening", nameof(nesterov));
        return (momentum, dampening, weightDecay, nesterov, maximize);
    }

    /// <summary>The momentum factor.</summary>
    public double Momentum { get; }

    /// <summary>Dampening of the momentum.</summary>
    public double Dampening { get; }

    /// <summary>The L2 penalty.</summary>
    public double WeightDecay { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <summary>Whether the objective is maximised.</summary>
    public bool Maximize { get; }

    private protected override IEnumerable<Tensor> StateTensors() => _momentumBuffers.Values;

    private protected override void Update(ParamGroup group, Tensor parameter, Flat grad)
    {
        var p = Of(parameter);
        var scratch = Workspace(1, p.DType, p.Count);
        var direction = Workspace(2, p.DType, p.Count);
        var d = grad;
        if (Maximize)
        {
            Affine(direction, grad, -1.0);
            d = direction;
        }
        if (WeightDecay != 0)
        {
            if (SameBuffer(d, grad))
            {
                Affine(direction, p, WeightDecay);
                Binary(BinaryOp.Add, direction, grad, direction);
                d = direction;
            }
            else AddScaled(direction, p, WeightDecay, scratch);
        }
        if (Momentum != 0)
        {
            if (!_momentumBuffers.TryGetValue(parameter, out var buffer))
            {
                buffer = StateTensor(parameter);
                _momentumBuffers[parameter] = buffer;
                Copy(Of(buffer), d);
            }
            else
            {
                var b = Of(buffer);
                Affine(b, b, Momentum);
                AddScaled(b, d, 1.0 - Dampening, scratch);
            }
            buffer.BumpVersion();
            if (Nesterov)
            {
                if (SameBuffer(d, grad))
                {
                    Affine(direction, Of(buffer), Momentum);
                    Binary(BinaryOp.Add, direction, grad, direction);
                    d = direction;
                }
                else AddScaled(direction, Of(buffer), Momentum, scratch);
            }
            else d = Of(buffer);
        }
        AddScaled(p, d, -group.LearningRate, scratch);
    }
}
