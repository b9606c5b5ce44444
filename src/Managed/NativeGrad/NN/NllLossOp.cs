using System.Numerics;
using NativeGrad.Autograd;
using NativeGrad.Ops;

namespace NativeGrad.NN;

/// <summary>
/// nll_loss as one op, as in PyTorch: the forward picks -w[t]·x[n, t, i] for each target and reduces; its node
/// (<c>NllLossBackward0</c>, <c>NllLoss2DBackward0</c> for [N, C, d...]) scatters -w[t]·g back. The backward is
/// linear in g, and its own derivative is the forward applied to the incoming gradient
/// (<c>NllLossBackwardBackward0</c>), so gradients of any order come from these two passes.
/// Classes are read as [N, C, inner] (inner: the product of the d dims), targets as [N, inner].
/// </summary>
internal static class NllLossOp
{
    /// <summary>What both passes need: the targets (int64 [N, inner], contiguous), the weights, the layout and the reduction.</summary>
    internal readonly record struct Spec(Tensor Target, Tensor? Weight, long IgnoreIndex, Reduction Reduction, long N, long Classes,
                                         long Inner, double TotalWeight, long[] InputShape, long[] OutputShape, DType DType);

    /// <summary>The node of either pass; it saves the targets and weights (checked for in-place changes like any saved tensor).</summary>
    private sealed class Node : BackwardNode
    {
        [ThreadStatic] private static SlotList<Node>? t_spares; // recycled nodes (see BackwardNode.Recycling.cs)

        private SavedTensor _target;
        private SavedTensor _weight; // only with _hasWeight
        private bool _hasWeight;
        private Spec _spec;       // its tensors are read through the saved ones
        private bool _ofBackward; // this node differentiates the backward (its input is the loss's gradient)

        private Node() : base(new GradientEdge[1], recyclable: true) { }

        /// <summary>A node (a recycled one when this thread has one) for a pass over <paramref name="edge"/>'s tensor.</summary>
        internal static Node Create(string name, GradientEdge edge, in Spec spec, bool ofBackward)
        {
            var node = t_spares is { Count: > 0 } spares ? spares.Pop() : new Node();
            node.Revive();
            node.Next[0] = edge;
            node.Begin(name);
            node._target = new SavedTensor(spec.Target, name, node);
            node._hasWeight = spec.Weight is not null;
            if (spec.Weight is not null) node._weight = new SavedTensor(spec.Weight, name, node);
            node._spec = spec with { Target = null!, Weight = null };
            node._ofBackward = ofBackward;
            return node;
        }

        private protected override void Reset(ThreadState state)
        {
            Next[0] = default;
            _target = default;
            _weight = default;
            _spec = default;
            var spares = t_spares ??= new SlotList<Node>();
            if (spares.Count < 64) spares.Add(this);
        }

        internal override Tensor?[] Apply(Tensor?[] gradOutputs)
        {
            var grad = gradOutputs[0] ?? throw new InvalidOperationException($"{Name}: no gradient reached this node.");
            var grads = ThreadState.Current.GradArrays.Rent(1); // given back by the engine (a recyclable node's arrays are pooled)
            if (Next[0].Node is null) return grads;
            var spec = _spec with { Target = _target.Unpack(), Weight = _hasWeight ? _weight.Unpack() : null };
            grads[0] = _ofBackward ? Pick(grad, spec) : Scatter(grad, spec);
            return grads;
        }

        internal override void ReleaseSavedTensors(ThreadState state)
        {
            _target.Release(state);
            if (_hasWeight) _weight.Release(state);
        }

        internal override IEnumerable<string> DescribeSavedTensors()
            => _hasWeight ? [_target.Describe(), _weight.Describe()] : [_target.Describe()];
    }

    /// <summary>
    /// The loss of <paramref name="input"/> (validated by the caller: float, [C] or [N, C, d...]) against
    /// <paramref name="target"/> (int64, [] or [N, d...]); <paramref name="weight"/>: [C] or null.
    /// </summary>
    public static Tensor Forward(Tensor input, Tensor target, Tensor? weight, Reduction reduction, long ignoreIndex)
    {
        var shape = input.ShapeArray;
        long n = shape.Length == 1 ? 1 : shape[0], classes = shape.Length == 1 ? shape[0] : shape[1], inner = 1;
        for (int d = 2; d < shape.Length; d++) inner *= shape[d];
        var t = Kernels.Contiguous(target);
        var w = weight is null ? null : Kernels.Contiguous(weight.DType == input.DType ? weight : weight.To(input.DType));
        double total = TotalWeight(t, w, classes, ignoreIndex);
        var spec = new Spec(t, w, ignoreIndex, reduction, n, classes, inner, total, shape, reduction == Reduction.None ? target.ShapeArray : [], input.DType);
        var result = Compute(input, spec, pick: true);
        if (Graph.IsRecording(input))
            result.SetNewGradFn(Node.Create(shape.Length > 2 ? "NllLoss2DBackward0" : "NllLossBackward0", input.GradientEdge(), spec, ofBackward: false));
        return result;
    }

    /// <summary>Σ of the targets' weights (0 for ignored ones); throws for targets outside [0, C).</summary>
    private static unsafe double TotalWeight(Tensor target, Tensor? weight, long classes, long ignoreIndex)
    {
        long* t = (long*)target.DataPointer;
        long count = target.NumElements;
        double total = 0;
        for (long i = 0; i < count; i++)
        {
            long c = t[i];
            if (c == ignoreIndex) continue;
            if (c < 0 || c >= classes) throw new IndexOutOfRangeException($"nll_loss: Target {c} is out of bounds (classes: {classes})");
            total += weight is null ? 1.0 : weight.DType == DType.Float32 ? ((float*)weight.DataPointer)[c] : ((double*)weight.DataPointer)[c];
        }
        return total;
    }

    /// <summary>The forward applied to the gradient of the input (the backward's derivative), recorded when that gradient requires grad.</summary>
    private static Tensor Pick(Tensor gg, in Spec spec)
    {
        var result = Compute(gg, spec, pick: true);
        if (Graph.IsRecording(gg)) result.SetNewGradFn(Node.Create("NllLossBackward0", gg.GradientEdge(), spec, ofBackward: false));
        return result;
    }

    /// <summary>The backward: zeros of the input's shape with -w[t]·g (g divided by the weight total for the mean) at each target.</summary>
    private static Tensor Scatter(Tensor g, in Spec spec)
    {
        var result = Compute(g, spec, pick: false);
        if (Graph.IsRecording(g)) result.SetNewGradFn(Node.Create("NllLossBackwardBackward0", g.GradientEdge(), spec, ofBackward: true));
        return result;
    }

    private static Tensor Compute(Tensor x, in Spec spec, bool pick)
    {
        var xc = Kernels.Contiguous(x.DType == spec.DType ? x : x.To(spec.DType));
        if (spec.DType == DType.Float32) return pick ? Pick<float>(xc, spec) : Scatter<float>(xc, spec);
        return pick ? Pick<double>(xc, spec) : Scatter<double>(xc, spec);
    }

    // -w[t]·x[n, t, i] for each target, reduced; sums accumulate in double.
    private static unsafe Tensor Pick<T>(Tensor x, in Spec spec) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long* t = (long*)spec.Target.DataPointer;
        T* px = (T*)x.DataPointer;
        T* pw = spec.Weight is null ? null : (T*)spec.Weight.DataPointer;
        long inner = spec.Inner, classes = spec.Classes;
        var result = Tensor.Empty(spec.OutputShape, spec.DType);
        T* r = (T*)result.DataPointer;
        double sum = 0;
        for (long n = 0; n < spec.N; n++)
        {
            for (long i = 0; i < inner; i++)
            {
                long k = n * inner + i, c = t[k];
                if (c == spec.IgnoreIndex)
                {
                    if (spec.Reduction == Reduction.None) r[k] = T.Zero;
                    continue;
                }
                T v = px[(n * classes + c) * inner + i];
                T loss = -(pw is null ? v : pw[c] * v);
                if (spec.Reduction == Reduction.None) r[k] = loss;
                else sum += double.CreateTruncating(loss);
            }
        }
        if (spec.Reduction == Reduction.Sum) r[0] = T.CreateTruncating(sum);
        else if (spec.Reduction == Reduction.Mean) r[0] = T.CreateTruncating(sum / spec.TotalWeight); // 0/0 = NaN when every target is ignored, as in PyTorch
        return result;
    }

    private static unsafe Tensor Scatter<T>(Tensor g, in Spec spec) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long* t = (long*)spec.Target.DataPointer;
        T* pg = (T*)g.DataPointer;
        T* pw = spec.Weight is null ? null : (T*)spec.Weight.DataPointer;
        long inner = spec.Inner, classes = spec.Classes;
        var result = Kernels.Full(spec.InputShape, spec.DType, 0);
        T* r = (T*)result.DataPointer;
        // As PyTorch: grad = -(mean ? g / total : g), then w[t]·grad.
        T scalar = spec.Reduction == Reduction.None ? T.Zero
            : -(spec.Reduction == Reduction.Mean ? pg[0] / T.CreateTruncating(spec.TotalWeight) : pg[0]);
        for (long n = 0; n < spec.N; n++)
        {
            for (long i = 0; i < inner; i++)
            {
                long k = n * inner + i, c = t[k];
                if (c == spec.IgnoreIndex) continue;
                T grad = spec.Reduction == Reduction.None ? -pg[k] : scalar;
                r[(n * classes + c) * inner + i] = pw is null ? grad : pw[c] * grad;
            }
        }
        return result;
    }
}
