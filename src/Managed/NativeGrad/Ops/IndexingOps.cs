using NativeGrad.Autograd;
using NativeGrad.Ops;

namespace NativeGrad;

// Joining and indexing: cat, stack, index_select. Index tensors are int64 and validated before any kernel runs.
public sealed partial class Tensor
{
    /// <summary>Concatenates tensors along an existing dim; all other dims must match.</summary>
    public static Tensor Cat(IReadOnlyList<Tensor> tensors, long dim = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0) throw new ArgumentException("cat: expected a non-empty list of Tensors");
        var first = tensors[0];
        int rank = first.Dim;
        if (rank == 0) throw new ArgumentException("cat: zero-dimensional tensor (at position 0) cannot be concatenated");
        int d = Shapes.WrapDim(dim, rank, "cat");
        long total = 0;
        var dtype = first.DType;
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            t.ThrowIfDisposed();
            if (t.Dim != rank)
                throw new ArgumentException($"cat: Tensors must have same number of dimensions: got {rank} and {t.Dim} (shapes {Shapes.Format(first.Shape)} and {Shapes.Format(t.Shape)})");
            for (int j = 0; j < rank; j++)
            {
                if (j != d && t.ShapeArray[j] != first.ShapeArray[j])
                    throw new ArgumentException($"cat: Sizes of tensors must match except in dimension {d}. Expected size {first.ShapeArray[j]} but got size {t.ShapeArray[j]} for tensor number {i} in the list (shapes {Shapes.Format(first.Shape)} and {Shapes.Format(t.Shape)})");
            }
            total += t.ShapeArray[d];
            dtype = DTypeExtensions.Promote(dtype, t.DType);
        }
        var shape = (long[])first.ShapeArray.Clone();
        shape[d] = total;
        var result = Tensor.Empty(shape, dtype);
        long start = 0;
        var sizes = new long[tensors.Count];
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            sizes[i] = t.ShapeArray[d];
            var window = Views.View(result, t.ShapeArray, result.StridesArray, start * result.StridesArray[d]);
            Kernels.CopyInto(t, window);
            start += sizes[i];
        }
        var inputs = tensors.ToArray();
        if (!Graph.IsRecording(inputs)) return result;
        return Graph.Record("CatBackward0", result, inputs, [], (c, g) =>
        {
            var grads = new Tensor?[sizes.Length];
            long offset = 0;
            for (int i = 0; i < sizes.Length; i++)
            {
                if (c.NeedsInputGrad(i)) grads[i] = g.Narrow(d, offset, sizes[i]);
                offset += sizes[i];
            }
            return grads;
        });
    }

    /// <summary>Stacks tensors of one shape along a new dim.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, long dim = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0) throw new ArgumentException("stack: expected a non-empty list of Tensors");
        var first = tensors[0];
        int d = Shapes.WrapDim(dim, first.Dim + 1, "stack");
        for (int i = 1; i < tensors.Count; i++)
        {
            if (!Shapes.SameShape(tensors[i].Shape, first.Shape))
                throw new ArgumentException($"stack: stack expects each tensor to be equal size, but got {Shapes.Format(first.Shape)} at entry 0 and {Shapes.Format(tensors[i].Shape)} at entry {i}");
        }
        var unsqueezed = new Tensor[tensors.Count];
        using (GradMode.NoGrad())
            for (int i = 0; i < unsqueezed.Length; i++) unsqueezed[i] = tensors[i].Unsqueeze(d);
        Tensor result;
        using (GradMode.NoGrad()) result = Cat(unsqueezed, d);
        var inputs = tensors.ToArray();
        if (!Graph.IsRecording(inputs)) return result;
        return Graph.Record("StackBackward0", result, inputs, [], (c, g) =>
        {
            var grads = new Tensor?[inputs.Length];
            for (int i = 0; i < grads.Length; i++)
                if (c.NeedsInputGrad(i)) grads[i] = g.Select(d, i);
            return grads;
        });
    }

    /// <summary>Checks an index tensor: int64, and every value in [-size, size) when <paramref name="allowNegative"/>, else [0, size).</summary>
    internal static unsafe Tensor CheckIndex(Tensor index, long size, string op, string what, bool allowNegative = false)
    {
        ArgumentNullException.ThrowIfNull(index);
        index.ThrowIfDisposed();
        if (index.DType != DType.Int64)
            throw new ArgumentException($"{op}: Expected dtype int64 for {what} but got {index.DType.TorchName()} (shape {Shapes.Format(index.Shape)})");
        var contiguous = Kernels.Contiguous(index);
        long* p = (long*)contiguous.DataPointer;
        long n = contiguous.NumElements;
        bool needsWrap = false;
        for (long i = 0; i < n; i++)
        {
            long v = p[i];
            if (v >= size || v < (allowNegative ? -size : 0))
                throw new IndexOutOfRangeException($"{op}: index {v} is out of bounds for dimension with size {size}");
            if (v < 0) needsWrap = true;
        }
        if (!needsWrap) return contiguous;
        var wrapped = Kernels.ContiguousCopy(contiguous);
        long* q = (long*)wrapped.DataPointer;
        for (long i = 0; i < n; i++) if (q[i] < 0) q[i] += size;
        return wrapped;
    }

    /// <summary>The entries at <paramref name="index"/> (int64, 0-D or 1-D) along <paramref name="dim"/>.</summary>
    public Tensor IndexSelect(long dim, Tensor index)
    {
        ThrowIfDisposed();
        int d = Shapes.WrapDim(dim, Dim, "index_select");
        if (index.Dim > 1) throw new ArgumentException($"index_select: Index is supposed to be a vector, got shape {Shapes.Format(index.Shape)}");
        var idx = CheckIndex(index, Dim == 0 ? 1 : ShapeArray[d], "index_select", "index");
        if (Dim == 0 && idx.NumElements != 1) // else the 0-d result would be left unwritten (found by the managed fuzz test)
            throw new IndexOutOfRangeException($"index_select(): Index to scalar can have only 1 value, got {idx.NumElements} value(s)");
        var result = Kernels.IndexSelect(this, d, idx);
        if (Dim > 0 && index.Dim == 0) result = Views.View(result, Shapes.Scalar, Shapes.Scalar, 0);
        if (!Graph.IsRecording(this)) return result;
        var shape = ShapeArray;
        return Graph.Record("IndexSelectBackward0", result, [this], [], (c, g) => [IndexAddInto(g, d, idx, shape)]);
    }

    /// <summary>zeros(shape).index_add(dim, index, g), differentiable (its gradient is index_select).</summary>
    internal static Tensor IndexAddInto(Tensor g, int dim, Tensor index, long[] shape)
    {
        var source = g.Dim < shape.Length ? g.Unsqueeze(dim) : g;
        var result = Kernels.IndexAdd(source, dim, index, shape);
        if (!Graph.IsRecording(g)) return result;
        return Graph.Record("IndexAddBackward0", result, [source], [], (c, gg) => [gg.IndexSelect(dim, index)]);
    }
}
