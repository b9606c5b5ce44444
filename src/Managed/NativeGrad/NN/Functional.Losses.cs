using NativeGrad.Autograd;
using NativeGrad.Ops;

namespace NativeGrad.NN;

public static partial class Functional
{
    /// <summary>
    /// Negative log likelihood of class indices: input [N, C] (or [C], or [N, C, d...]) of log-probabilities,
    /// target [N] (or [], or [N, d...]) of int64 classes in [0, C) (or <paramref name="ignoreIndex"/>).
    /// </summary>
    public static Tensor NllLoss(Tensor input, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean, long ignoreIndex = -100)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        input.RequireFloat("nll_loss");
        if (target.DType != DType.Int64)
            throw new ArgumentException($"nll_loss: expected target of dtype int64 (class indices), got {target.DType.TorchName()} with shape {Shapes.Format(target.Shape)}");
        if (input.Dim == 0) throw new ArgumentException($"nll_loss: expected input of 1 or more dimensions, got shape {Shapes.Format(input.Shape)}");
        // Input [N, C, d...] takes target [N, d...]; unbatched input [C] a 0-d target (read as [1] against [1, C]).
        bool unbatched = input.Dim == 1;
        long classes = input.ShapeArray[unbatched ? 0 : 1];
        bool targetFits = unbatched
            ? target.Dim == 0
            : target.Dim == input.Dim - 1 && target.ShapeArray[0] == input.ShapeArray[0] && target.Shape[1..].SequenceEqual(input.Shape[2..]);
        if (!targetFits)
        {
            long[] expected = unbatched ? [1] : [input.ShapeArray[0], .. input.Shape[2..]];
            throw new ArgumentException($"nll_loss: expected target of shape {Shapes.Format(expected)} for input of shape {Shapes.Format(input.Shape)}, got {Shapes.Format(target.Shape)}");
        }
        if (weight is not null && (weight.Dim != 1 || weight.ShapeArray[0] != classes))
            throw new ArgumentException($"nll_loss: weight tensor should be defined either for all {classes} classes or no classes but got weight tensor of shape: {Shapes.Format(weight.Shape)}");

        if (weight is not null) weight.RequireFloat("nll_loss");
        return NllLossOp.Forward(input, target, weight, reduction, ignoreIndex); // one op, one node (NllLossBackward0), as in PyTorch
    }

    /// <summary>Each target's weight (0 when ignored), of the target's shape (label smoothing weighs its term by it).</summary>
    private static unsafe Tensor TargetWeights(Tensor target, long classes, Tensor? weight, long ignoreIndex, DType dtype)
    {
        var t = Kernels.Contiguous(target);
        long* p = (long*)t.DataPointer;
        long count = t.NumElements;
        var w = new double[count];
        double[]? classWeights = weight?.ToDoubleArray();
        for (long i = 0; i < count; i++)
        {
            if (p[i] == ignoreIndex) continue;
            if (p[i] < 0 || p[i] >= classes) throw new IndexOutOfRangeException($"nll_loss: Target {p[i]} is out of bounds (classes: {classes})");
            w[i] = classWeights is null ? 1.0 : classWeights[p[i]];
        }
        return Tensor.FromArray(w, t.ShapeArray).To(dtype);
    }

    /// <summary>
    /// Cross entropy of logits [N, C] (or [C], [N, C, d...]) against int64 class indices, with optional class
    /// weights, label smoothing and ignore index: log_softmax over dim 1 followed by nll_loss.
    /// </summary>
    public static Tensor CrossEntropy(Tensor input, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean, long ignoreIndex = -100, double labelSmoothing = 0.0)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (labelSmoothing < 0 || labelSmoothing > 1) throw new ArgumentOutOfRangeException(nameof(labelSmoothing), $"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {labelSmoothing}");
        int classDim = input.Dim == 1 ? 0 : 1;
        var logProbs = LogSoftmax(input, classDim);
        var nll = NllLoss(logProbs, target, weight, reduction, ignoreIndex);
        if (labelSmoothing == 0) return nll;

        long classes = input.ShapeArray[classDim];
        var elementWeight = TargetWeights(input.Dim == 1 ? target.Unsqueeze(0) : target, classes, null, ignoreIndex, input.DType);
        if (input.Dim == 1) elementWeight = elementWeight.Squeeze(0);
        var perClass = weight is null ? logProbs : logProbs * (input.Dim == 1 ? weight : weight.Reshape([classes, .. Enumerable.Repeat(1L, input.Dim - 2)]));
        var smooth = -(perClass.Sum([classDim]) * elementWeight);
        Tensor smoothReduced = reduction switch
        {
            Reduction.None => smooth,
            Reduction.Sum => smooth.Sum(),
            _ => weight is null ? smooth.Sum() / elementWeight.Sum() : smooth.Sum() / NllWeightSum(target, weight, ignoreIndex, input),
        };
        return nll * (1.0 - labelSmoothing) + smoothReduced * (labelSmoothing / classes);
    }

    private static Tensor NllWeightSum(Tensor target, Tensor weight, long ignoreIndex, Tensor input)
    {
        return TargetWeights(input.Dim == 1 ? target.Unsqueeze(0) : target, weight.ShapeArray[0], weight, ignoreIndex, input.DType).Sum();
    }

    /// <summary>Binary cross entropy of probabilities, with log clamped at -100 as in PyTorch.</summary>
    public static Tensor BinaryCrossEntropy(Tensor input, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        input.RequireFloat("binary_cross_entropy");
        target.RequireFloat("binary_cross_entropy");
        CheckSameShape(input, target, "binary_cross_entropy");
        Tensor result;
        using (GradMode.NoGrad())
        {
            var logP = input.Log().Clamp(min: -100);
            var log1mP = input.RSub(1.0).Log().Clamp(min: -100);
            var loss = -(target * logP + (1.0 - target) * log1mP);
            if (weight is not null) loss = loss * weight;
            result = Reduce(loss, reduction);
        }
        bool record = GradMode.IsEnabled && (input.RequiresGrad || target.RequiresGrad || (weight?.RequiresGrad ?? false));
        if (!record) return result;
        var shape = input.ShapeArray;
        return Graph.Record("BinaryCrossEntropyBackward0", result, [input, target, weight], [input, target, weight ?? input], (c, g) =>
        {
            var p = c.Saved(0);
            var y = c.Saved(1);
            var gl = ExpandReduced(g, shape, reduction);
            if (weight is not null) gl = gl * c.Saved(2);
            Tensor? gp = null, gy = null, gw = null;
            if (c.NeedsInputGrad(0)) gp = gl * (p - y) / (p * (1.0 - p)).Clamp(min: 1e-12);
            if (c.NeedsInputGrad(1)) gy = gl * ((1.0 - p).Log().Clamp(min: -100) - p.Log().Clamp(min: -100));
            if (c.NeedsInputGrad(2))
                gw = ExpandReduced(g, shape, reduction) * -(y * p.Log().Clamp(min: -100) + (1.0 - y) * (1.0 - p).Log().Clamp(min: -100));
            return [gp, gy, gw];
        });
    }

    /// <summary>Mean squared error.</summary>
    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        CheckSameShape(input, target, "mse_loss");
        Tensor result;
        using (GradMode.NoGrad())
        {
            var d = input - target;
            result = Reduce(d * d, reduction);
        }
        if (!Graph.IsRecording(input, target)) return result;
        var shape = input.ShapeArray;
        return Graph.Record("MseLossBackward0", result, [input, target], [input, target], (c, g) =>
        {
            var grad = ExpandReduced(g, shape, reduction) * (c.Saved(0) - c.Saved(1)) * 2.0;
            return [grad, c.NeedsInputGrad(1) ? -grad : null];
        });
    }

    /// <summary>Mean absolute error (composed as PyTorch composes it: abs, then the reduction).</summary>
    public static Tensor L1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        CheckSameShape(input, target, "l1_loss");
        return Reduce((input - target).Abs(), reduction);
    }

    /// <summary>Huber-style loss: 0.5 d²/beta where |d| &lt; beta, |d| - beta/2 elsewhere.</summary>
    public static Tensor SmoothL1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double beta = 1.0)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        CheckSameShape(input, target, "smooth_l1_loss");
        if (beta < 0) throw new ArgumentOutOfRangeException(nameof(beta), "smooth_l1_loss does not support negative values for beta.");
        if (beta == 0) return L1Loss(input, target, reduction);
        Tensor result;
        using (GradMode.NoGrad())
        {
            var d = (input - target).Abs();
            var small = Kernels.Unary(d, Backends.UnaryOp.LtScalar, beta);
            var loss = small * d * d * (0.5 / beta) + (1.0 - small) * (d - 0.5 * beta);
            result = Reduce(loss, reduction);
        }
        if (!Graph.IsRecording(input, target)) return result;
        var shape = input.ShapeArray;
        return Graph.Record("SmoothL1LossBackward0", result, [input, target], [input, target], (c, g) =>
        {
            var d = c.Saved(0) - c.Saved(1);
            var small = Kernels.Unary(Kernels.Unary(d, Backends.UnaryOp.Abs), Backends.UnaryOp.LtScalar, beta);
            var slope = small * d / beta + (1.0 - small) * Kernels.Unary(d, Backends.UnaryOp.Sign);
            var grad = ExpandReduced(g, shape, reduction) * slope;
            return [grad, c.NeedsInputGrad(1) ? -grad : null];
        });
    }
}
