using NativeGrad.Autograd;
using NativeGrad.Backends;
using NativeGrad.Ops;

namespace NativeGrad;

// In-place ops (PyTorch's add_, mul_, fill_, zero_, clamp_ ...). Every in-place write bumps the storage's version
// counter, so a tensor saved for backward and modified afterwards is detected. With grad recording, the tensor's
// history is rebased: it becomes the output of the in-place op's node, whose input is its previous history.
public sealed partial class Tensor
{
    /// <summary>True for tensors created inside <see cref="GradMode.InferenceMode"/>: they can never join a graph.</summary>
    public bool IsInference
    {
        get => (_flags & InferenceFlag) != 0;
        internal set => SetFlag(InferenceFlag, value);
    }

    private void CheckInPlace(string op, Tensor? other = null)
    {
        ThrowIfDisposed();
        other?.ThrowIfDisposed();
        if (!GradMode.IsEnabled) return;
        if (IsLeaf && _requiresGrad)
            throw new InvalidOperationException($"{op}: a leaf Variable that requires grad is being used in an in-place operation.");
        if (IsInference && (other?.RequiresGrad ?? false))
            throw new InvalidOperationException($"{op}: Inplace update to inference tensor outside InferenceMode is not allowed.");
    }

    /// <summary>
    /// Applies <paramref name="outOfPlace"/> and writes the result into this tensor. When the graph records, the
    /// op runs on a snapshot carrying this tensor's history and this tensor takes over the result's node.
    /// </summary>
    private Tensor InPlace(string op, Tensor? other, Func<Tensor, Tensor> outOfPlace)
    {
        CheckInPlace(op, other);
        bool record = GradMode.IsEnabled && (RequiresGrad || (other?.RequiresGrad ?? false));
        Tensor result;
        if (record)
        {
            var snapshot = SnapshotWithHistory();
            result = outOfPlace(snapshot);
        }
        else
        {
            using (GradMode.NoGrad()) result = outOfPlace(this);
        }
        if (!Shapes.SameShape(result.Shape, Shape))
            throw new ArgumentException($"{op}: output with shape {Shapes.Format(Shape)} doesn't match the broadcast shape {Shapes.Format(result.Shape)}");
        Kernels.CopyInto(result, this);
        BumpVersion();
        if (record)
        {
            SetGradFn(result.GradFnNode, result.OutputNr);
        }
        // Its values now live here; a recorded node keeps what it saved by its own references.
        if (!ReferenceEquals(result.Storage, Storage) && !ReferenceEquals(result.Storage, other?.Storage)) result.Dispose();
        return this;
    }

    /// <summary>A copy of the data in new storage that carries this tensor's autograd identity (same node, same leaf sink).</summary>
    private Tensor SnapshotWithHistory()
    {
        var copy = Kernels.ContiguousCopy(this);
        copy._requiresGrad = _requiresGrad;
        copy.SetGradFn(GradFnNode, OutputNr);
        if (IsLeaf && _requiresGrad) copy._accumulator = _accumulator ??= new AccumulateGrad(this);
        return copy;
    }

    /// <summary>this += alpha * other, in place (PyTorch's <c>add_</c>).</summary>
    public Tensor AddInPlace(Tensor other, double alpha = 1.0) => InPlace("add_", other, t => t.Add(other, alpha));

    /// <summary>this += scalar, in place.</summary>
    public Tensor AddInPlace(double scalar) => InPlace("add_", null, t => t.Add(scalar));

    /// <summary>this -= alpha * other, in place (PyTorch's <c>sub_</c>).</summary>
    public Tensor SubInPlace(Tensor other, double alpha = 1.0) => InPlace("sub_", other, t => t.Sub(other, alpha));

    /// <summary>this *= other, in place (PyTorch's <c>mul_</c>).</summary>
    public Tensor MulInPlace(Tensor other) => InPlace("mul_", other, t => t.Mul(other));

    /// <summary>this *= scalar, in place.</summary>
    public Tensor MulInPlace(double scalar) => InPlace("mul_", null, t => t.Mul(scalar));

    /// <summary>this /= other, in place (PyTorch's <c>div_</c>).</summary>
    public Tensor DivInPlace(Tensor other) => InPlace("div_", other, t => t.Div(other));

    /// <summary>this /= scalar, in place.</summary>
    public Tensor DivInPlace(double scalar) => InPlace("div_", null, t => t.Div(scalar));

    /// <summary>Limits every element to [min, max], in place (PyTorch's <c>clamp_</c>).</summary>
    public Tensor ClampInPlace(double? min = null, double? max = null) => InPlace("clamp_", null, t => t.Clamp(min, max));

    /// <summary>max(x, 0), in place (PyTorch's <c>relu_</c>).</summary>
    public Tensor ReluInPlace() => InPlace("relu_", null, t => t.Relu());

    /// <summary>Copies <paramref name="source"/> (broadcast) into this tensor (PyTorch's <c>copy_</c>); gradients flow to the source.</summary>
    public Tensor CopyFrom(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return InPlace("copy_", source, t =>
        {
            var expanded = (source.DType == t.DType ? source : source.To(t.DType)).Expand(t.ShapeArray);
            // Integers carry no gradient (and take no `* 1.0`): a plain copy.
            return t.DType.IsFloatingPoint() ? expanded * 1.0 : Kernels.ContiguousCopy(expanded);
        });
    }

    /// <summary>Sets every element to <paramref name="value"/> (PyTorch's <c>fill_</c>).</summary>
    public Tensor Fill(double value)
    {
        CheckInPlace("fill_");
        Kernels.FillInPlace(this, value);
        BumpVersion();
        if (GradMode.IsEnabled && RequiresGrad)
        {
            // The history is cut: the new values depend on nothing (PyTorch records FillBackward0 with a zero gradient).
            var node = Graph.Record("FillBackward0", Views.View(this, ShapeArray, StridesArray, Offset), [SnapshotWithHistory()], [], (c, g) => [g * 0.0]);
            SetGradFn(node.GradFnNode);
        }
        return this;
    }

    /// <summary>Sets every element to zero (PyTorch's <c>zero_</c>).</summary>
    public Tensor Zero() => Fill(0.0);
}
