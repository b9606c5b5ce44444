using NativeGrad.Autograd;
using NativeGrad.Ops;

namespace NativeGrad.NN;

/// <summary>How a loss reduces its per-element values (PyTorch's <c>reduction</c>).</summary>
public enum Reduction
{
    /// <summary>The per-element losses, unreduced.</summary>
    None,
    /// <summary>Their mean (the default).</summary>
    Mean,
    /// <summary>Their sum.</summary>
    Sum,
}

/// <summary>PyTorch's <c>torch.nn.functional</c>: activations and losses.</summary>
public static partial class Functional
{
    /// <summary>Parses PyTorch's reduction names: "mean", "sum", "none".</summary>
    public static Reduction ParseReduction(string reduction) => reduction switch
    {
        "mean" => Reduction.Mean,
        "sum" => Reduction.Sum,
        "none" => Reduction.None,
        _ => throw new ArgumentException($"{reduction} is not a valid value for reduction (use \"mean\", \"sum\" or \"none\")"),
    };

    private static Tensor Reduce(Tensor perElement, Reduction reduction) => reduction switch
    {
        Reduction.Mean => perElement.Mean(),
        Reduction.Sum => perElement.Sum(),
        _ => perElement,
    };

    /// <summary>The gradient of a reduced loss broadcast back to the per-element shape.</summary>
    private static Tensor ExpandReduced(Tensor g, long[] shape, Reduction reduction)
    {
        if (reduction == Reduction.None) return g;
        var expanded = g.Expand(shape);
        return reduction == Reduction.Mean ? expanded / Math.Max(Shapes.NumElements(shape), 1) : expanded;
    }

    private static void CheckSameShape(Tensor input, Tensor target, string op)
    {
        if (!Shapes.SameShape(input.Shape, target.Shape))
            throw new ArgumentException($"{op}: Target size ({Shapes.Format(target.Shape)}) must be the same as input size ({Shapes.Format(input.Shape)})");
    }

    /// <summary>
    /// Binary cross entropy on logits, computed stably as max(x, 0) - x y + log(1 + e^-|x|) (no overflow for
    /// logits of ±1000). <paramref name="posWeight"/> weights the positive term, <paramref name="weight"/> each element.
    /// </summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Tensor? weight = null, Tensor? posWeight = null, Reduction reduction = Reduction.Mean)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        input.RequireFloat("binary_cross_entropy_with_logits");
        target.RequireFloat("binary_cross_entropy_with_logits");
        CheckSameShape(input, target, "binary_cross_entropy_with_logits");
        if (weight is not null) Shapes.Broadcast(weight.Shape, input.Shape, "binary_cross_entropy_with_logits (weight)");
        if (posWeight is not null) Shapes.Broadcast(posWeight.Shape, input.Shape, "binary_cross_entropy_with_logits (pos_weight)");

        // Without weights the loss is one fused kernel (BceWithLogits) and a reduction, and the first-order gradient one
        // fused kernel (SigmoidSub) scaled in place; weights, pos_weight and create_graph take the composite formulas.
        bool fused = weight is null && posWeight is null;
        Tensor result;
        if (fused)
        {
            // Kernel calls (and Reduce of a tensor that does not require grad) record nothing: no grad-mode scope needed.
            var small = reduction == Reduction.None ? null
                : Ops.Kernels.ReduceOfBinarySmall(input, target, Backends.BinaryOp.BceWithLogits, reduction == Reduction.Mean);
            if (small is not null) result = small;
            else
            {
                var perElement = Ops.Kernels.Binary(input, target, Backends.BinaryOp.BceWithLogits, "binary_cross_entropy_with_logits");
                result = Reduce(perElement, reduction);
                if (!ReferenceEquals(result, perElement)) perElement.Dispose();
            }
        }
        else
        {
            using var noGrad = GradMode.NoGrad();
            var softplusNegX = (-input).Softplus(1.0, double.PositiveInfinity); // log(1 + e^-x), stable
            var loss = posWeight is null
                ? (1.0 - target) * input + softplusNegX
                : (1.0 - target) * input + (1.0 + (posWeight - 1.0) * target) * softplusNegX;
            if (weight is not null) loss = loss * weight;
            result = Reduce(loss, reduction);
        }
        bool record = GradMode.IsEnabled && (input.RequiresGrad || target.RequiresGrad || (weight?.RequiresGrad ?? false) || (posWeight?.RequiresGrad ?? false));
        if (!record) return result;

        // The options travel in the node's scalar (reduction, and which optional tensors were given): a static formula, no closure per call.
        double options = (int)reduction + (weight is null ? 0 : 4) + (posWeight is null ? 0 : 8);
        return Graph.Record("BinaryCrossEntropyWithLogitsBackward0", result, [input, target, weight, posWeight],
            fused ? [input, target] : [input, target, weight ?? input, posWeight ?? input], options, static (c, g) =>
            {
                int options = (int)c.Scalar;
                var reduction = (Reduction)(options & 3);
                bool hasWeight = (options & 4) != 0, hasPosWeight = (options & 8) != 0;
                bool fused = !hasWeight && !hasPosWeight;
                var shape = c.InputShape(0);
                var x = c.Saved(0);
                var y = c.Saved(1);
                var w = hasWeight ? c.Saved(2) : null;
                var p = hasPosWeight ? c.Saved(3) : null;
                Tensor? gx = null, gy = null, gw = null, gp = null;
                bool fusedGx = c.NeedsInputGrad(0) && fused && !GradMode.IsEnabled;
                if (fusedGx) gx = FusedBceWithLogitsGrad(x, y, g, reduction);
                if (fusedGx && !c.NeedsInputGrad(1)) return [gx, null, null, null]; // the common case: nothing else to build
                var gl = ExpandReduced(g, shape, reduction);
                if (w is not null) gl = gl * w;
                if (c.NeedsInputGrad(0) && !fusedGx)
                    gx = p is null ? gl * (x.Sigmoid() - y) : gl * ((1.0 + (p - 1.0) * y) * x.Sigmoid() - p * y);
                if (c.NeedsInputGrad(1))
                    gy = p is null ? gl * -x : gl * (-x + (p - 1.0) * (-x).Softplus(1.0, double.PositiveInfinity));
                if (c.NeedsInputGrad(2) || c.NeedsInputGrad(3))
                {
                    var gRaw = ExpandReduced(g, shape, reduction);
                    var softplusNegX = (-x).Softplus(1.0, double.PositiveInfinity);
                    if (c.NeedsInputGrad(2))
                        gw = gRaw * (p is null ? (1.0 - y) * x + softplusNegX : (1.0 - y) * x + (1.0 + (p - 1.0) * y) * softplusNegX);
                    if (c.NeedsInputGrad(3))
                        gp = (w is null ? gRaw : gRaw * w) * y * softplusNegX;
                }
                return [gx, gy, gw, gp];
            });
    }

    /// <summary>d loss / d x without weights, first order: (sigmoid(x) - y) in one kernel, times g (divided by the count for a mean).</summary>
    private static Tensor FusedBceWithLogitsGrad(Tensor x, Tensor y, Tensor g, Reduction reduction)
    {
        var d = Ops.Kernels.Binary(x, y, Backends.BinaryOp.SigmoidSub, "binary_cross_entropy_with_logits_backward");
        if (reduction == Reduction.None)
        {
            var scaled = Ops.Kernels.Binary(d, g, Backends.BinaryOp.Mul, "binary_cross_entropy_with_logits_backward");
            d.Dispose();
            return scaled;
        }
        double scale = g.Item() / (reduction == Reduction.Mean ? Math.Max(x.NumElements, 1) : 1);
        Ops.Kernels.ScaleInPlace(d, scale);
        return d;
    }

    /// <summary>The string-reduction overload, as PyTorch spells it ("mean", "sum", "none").</summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, string reduction, Tensor? weight = null, Tensor? posWeight = null)
        => BinaryCrossEntropyWithLogits(input, target, weight, posWeight, ParseReduction(reduction));
}
