using NativeGrad.Backends;

namespace NativeGrad.Ops;

/// <summary>
/// Tensor-level calls into the current backend, below the graph: they allocate outputs, make operands contiguous
/// where a kernel needs it and never record anything. The ops (in this folder) validate, call these, and record.
/// </summary>
internal static unsafe class Kernels
{
    private static IBackend Backend => Runtime.Current;

    public static Tensor Contiguous(Tensor t) => t.IsContiguous ? t : ContiguousCopy(t);

    public static Tensor ContiguousCopy(Tensor t) => ContiguousCopy(t, ThreadState.Current);

    public static Tensor ContiguousCopy(Tensor t, ThreadState state)
    {
        var result = Tensor.Empty(t.ShapeArray, t.DType, state);
        if (result.NumElements > 0)
            Backend.CopyStrided(t.DType, t.ShapeArray, t.DataPointerOn(state), t.StridesArray, result.DataPointerOn(state), result.StridesArray);
        return result;
    }

    /// <summary>Copies <paramref name="src"/> (broadcast to dst's shape) into <paramref name="dst"/> through dst's strides.</summary>
    public static void CopyInto(Tensor src, Tensor dst)
    {
        if (dst.NumElements == 0) return;
        if (src.DType != dst.DType) src = Cast(src, dst.DType);
        int rank = dst.Dim;
        Span<long> srcStrides = rank <= 16 ? stackalloc long[rank] : new long[rank];
        Shapes.BroadcastStrides(src.ShapeArray, src.StridesArray, dst.ShapeArray, srcStrides);
        using var hold = dst.HoldStorage(); // a Dispose racing on another thread cannot recycle dst's buffer mid-write
        Backend.CopyStrided(dst.DType, dst.ShapeArray, src.DataPointer, srcStrides, dst.DataPointer, dst.StridesArray);
    }

    public static Tensor Full(long[] shape, DType dtype, double value)
    {
        var state = ThreadState.Current;
        var result = Tensor.Empty(shape, dtype, state);
        long n = result.NumElements;
        if (n > 0) Backend.Fill(dtype, n, result.DataPointerOn(state), value);
        return result;
    }

    public static void FillInPlace(Tensor t, double value)
    {
        if (t.IsContiguous) { if (t.NumElements > 0) { using var hold = t.HoldStorage(); Backend.Fill(t.DType, t.NumElements, t.DataPointer, value); } }
        else CopyInto(Full([], t.DType, value), t);
    }

    /// <summary>t *= s for a contiguous tensor this code owns (a fresh result nobody else has seen).</summary>
    public static void ScaleInPlace(Tensor t, double s) => ScaleInPlace(t, s, ThreadState.Current);

    /// <inheritdoc cref="ScaleInPlace(Tensor, double)"/>
    public static void ScaleInPlace(Tensor t, double s, ThreadState state)
    {
        long n = t.NumElements;
        if (n == 0 || s == 1.0) return;
        var p = t.DataPointerOn(state);
        Backend.Unary(t.DType, UnaryOp.Affine, n, p, p, s, 0.0);
    }

    public static Tensor Unary(Tensor x, UnaryOp op, double alpha = 0, double beta = 0)
    {
        x = Contiguous(x);
        var state = ThreadState.Current;
        var result = Tensor.EmptyLike(x, state);
        long n = x.NumElements;
        if (n > 0) Backend.Unary(x.DType, op, n, x.DataPointerOn(state), result.DataPointerOn(state), alpha, beta);
        return result;
    }

    public static Tensor Binary(Tensor a, Tensor b, BinaryOp op, string opName)
    {
        if (a.DType != b.DType)
        {
            var common = DTypeExtensions.Promote(a.DType, b.DType);
            if (a.DType != common) a = Cast(a, common);
            if (b.DType != common) b = Cast(b, common);
        }
        if (a.IsContiguous && b.IsContiguous && Shapes.SameShape(a.ShapeArray, b.ShapeArray))
        {
            // The common case: one flat loop, no stride arrays, one thread-state read.
            var state = ThreadState.Current;
            var same = Tensor.EmptyLike(a, state);
            long n = same.NumElements;
            if (n == 0) return same;
            ReadOnlySpan<long> flat = [n], unit = [1];
            Backend.Binary(a.DType, op, flat, a.DataPointerOn(state), unit, b.DataPointerOn(state), unit, same.DataPointerOn(state));
            return same;
        }
        var shape = Shapes.SameShape(a.ShapeArray, b.ShapeArray) ? a.ShapeArray : Shapes.Broadcast(a.ShapeArray, b.ShapeArray, opName);
        var result = Tensor.Empty(shape, a.DType);
        if (result.NumElements == 0) return result;
        // BinaryBroadcast's body, inline: calling it from here measured ~3 ns slower on the same-shape path above
        // (W2, 47.5 vs 50-51 ns median of 5, Stopwatch harness), whose cost is the whole op.
        Span<long> aStrides = shape.Length <= 16 ? stackalloc long[shape.Length] : new long[shape.Length];
        Span<long> bStrides = shape.Length <= 16 ? stackalloc long[shape.Length] : new long[shape.Length];
        Shapes.BroadcastStrides(a.ShapeArray, a.StridesArray, shape, aStrides);
        Shapes.BroadcastStrides(b.ShapeArray, b.StridesArray, shape, bStrides);
        Backend.Binary(a.DType, op, shape, a.DataPointer, aStrides, b.DataPointer, bStrides, result.DataPointer);
        return result;
    }

    /// <summary>Runs <paramref name="op"/> over <paramref name="shape"/>, reading a and b through their broadcast strides (made on the stack).</summary>
    private static void BinaryBroadcast(DType dtype, BinaryOp op, Tensor a, Tensor b, long[] shape, Tensor output)
    {
        Span<long> aStrides = shape.Length <= 16 ? stackalloc long[shape.Length] : new long[shape.Length];
        Span<long> bStrides = shape.Length <= 16 ? stackalloc long[shape.Length] : new long[shape.Length];
        Shapes.BroadcastStrides(a.ShapeArray, a.StridesArray, shape, aStrides);
        Shapes.BroadcastStrides(b.ShapeArray, b.StridesArray, shape, bStrides);
        Backend.Binary(dtype, op, shape, a.DataPointer, aStrides, b.DataPointer, bStrides, output.DataPointer);
    }

    /// <summary>The out= form of <see cref="Binary"/>: checks dtype, shape and aliasing, then writes into <paramref name="output"/> in place.</summary>
    public static void BinaryInto(Tensor a, Tensor b, Tensor output, BinaryOp op, string opName)
    {
        var dtype = a.DType == b.DType ? a.DType : DTypeExtensions.Promote(a.DType, b.DType);
        if (output.DType != dtype)
            throw new ArgumentException($"{opName}: out has dtype {output.DType.TorchName()} but the result is {dtype.TorchName()} (out= takes the result dtype)");
        var shape = Shapes.SameShape(a.ShapeArray, b.ShapeArray) ? a.ShapeArray : Shapes.Broadcast(a.ShapeArray, b.ShapeArray, opName);
        if (!Shapes.SameShape(shape, output.ShapeArray))
            throw new ArgumentException($"{opName}: out has shape {Shapes.Format(output.Shape)} but the result of {Shapes.Format(a.Shape)} and {Shapes.Format(b.Shape)} has shape {Shapes.Format(shape)}");
        CheckNoPartialOverlap(output, a, opName);
        CheckNoPartialOverlap(output, b, opName);
        long n = output.NumElements;
        if (n == 0) return;
        using var hold = output.HoldStorage(); // a Dispose racing on another thread cannot recycle out's buffer mid-write
        if (!output.IsContiguous || a.DType != b.DType)
        {
            using var result = Binary(a, b, op, opName);
            CopyInto(result, output);
        }
        else if (a.IsContiguous && b.IsContiguous && Shapes.SameShape(a.ShapeArray, b.ShapeArray))
        {
            var state = ThreadState.Current;
            ReadOnlySpan<long> flat = [n], unit = [1];
            Backend.Binary(dtype, op, flat, a.DataPointerOn(state), unit, b.DataPointerOn(state), unit, output.DataPointerOn(state));
        }
        else
        {
            if (OverlapsAtAll(output, a) || OverlapsAtAll(output, b))
            {
                // out is an operand read through broadcast strides: compute aside, then copy.
                using var result = Binary(a, b, op, opName);
                CopyInto(result, output);
            }
            else BinaryBroadcast(dtype, op, a, b, shape, output);
        }
        output.BumpVersion();
    }

    private static bool OverlapsAtAll(Tensor output, Tensor input) => ReferenceEquals(output.Storage, input.Storage);

    /// <summary>out may be an input itself (same view) but must not share memory with it otherwise (PyTorch's rule and message).</summary>
    private static void CheckNoPartialOverlap(Tensor output, Tensor input, string opName)
    {
        if (!ReferenceEquals(output.Storage, input.Storage)) return;
        bool sameView = output.Offset == input.Offset && Shapes.SameShape(output.ShapeArray, input.ShapeArray)
                        && output.StridesArray.AsSpan().SequenceEqual(input.StridesArray) && output.DType == input.DType;
        if (!sameView)
            throw new ArgumentException($"{opName}: unsupported operation: some elements of the input tensor and the written-to tensor refer to a single memory location (out {Shapes.Format(output.Shape)} overlaps an input {Shapes.Format(input.Shape)}). Please clone() the tensor before performing the operation.");
    }

    public static Tensor BinaryScalar(Tensor a, double scalar, BinaryOp op, bool scalarFirst = false)
    {
        var s = Full([], a.DType, scalar);
        var result = scalarFirst ? Binary(s, a, op, op.ToString()) : Binary(a, s, op, op.ToString());
        s.Dispose();
        return result;
    }

    /// <summary>
    /// sum (or mean) over all elements of op(a, b) for small same-shape contiguous operands, with the element-wise
    /// values in a stack buffer instead of a tensor (a reduced loss: one result object per call). Null when the
    /// operands do not qualify; the caller then takes the general path.
    /// </summary>
    public static Tensor? ReduceOfBinarySmall(Tensor a, Tensor b, BinaryOp op, bool mean)
    {
        const long MaxElements = 512;
        long n = a.NumElements;
        if (n == 0 || n > MaxElements || a.DType != b.DType || !a.IsContiguous || !b.IsContiguous || !Shapes.SameShape(a.ShapeArray, b.ShapeArray))
            return null;
        var state = ThreadState.Current;
        byte* values = stackalloc byte[(int)(n * a.DType.ElementSize())];
        ReadOnlySpan<long> flat = [n], unit = [1];
        Backend.Binary(a.DType, op, flat, a.DataPointerOn(state), unit, b.DataPointerOn(state), unit, values);
        var result = Tensor.EmptyScalar(a.DType, state);
        Backend.Reduce(a.DType, ReduceOp.Sum, 1, n, 1, values, result.DataPointerOn(state));
        if (mean) ScaleInPlace(result, 1.0 / n, state);
        return result;
    }

    /// <summary>Reduces every element to a 0-d tensor (the common loss case: no dim bookkeeping).</summary>
    public static Tensor ReduceAll(Tensor x, ReduceOp op)
    {
        if (!x.IsContiguous) return Reduce(x, op, AllDims(x.Dim), false);
        var state = ThreadState.Current;
        var result = Tensor.EmptyScalar(x.DType, state);
        Backend.Reduce(x.DType, op, 1, x.NumElements, 1, x.DataPointerOn(state), result.DataPointerOn(state));
        return result;
    }

    private static int[] AllDims(int rank)
    {
        var all = new int[rank];
        for (int i = 0; i < rank; i++) all[i] = i;
        return all;
    }

    /// <summary>Reduces over the given dims (sorted, distinct, wrapped). The result has the kept dims (and 1s if keepdim).</summary>
    public static Tensor Reduce(Tensor x, ReduceOp op, ReadOnlySpan<int> dims, bool keepDim)
    {
        int rank = x.Dim;
        int outRank = keepDim ? rank : rank - dims.Length;
        Span<long> outShape = outRank <= 16 ? stackalloc long[outRank] : new long[outRank];
        for (int i = 0, o = 0, k = 0; i < rank; i++)
        {
            bool reduced = k < dims.Length && dims[k] == i;
            if (reduced) k++;
            if (!reduced) outShape[o++] = x.ShapeArray[i];
            else if (keepDim) outShape[o++] = 1;
        }
        return ReduceTo(x, op, dims, Shapes.Intern(outShape));
    }

    /// <summary>
    /// Reduces <paramref name="x"/> over <paramref name="dims"/> (sorted, distinct) into a new tensor of
    /// <paramref name="shape"/>: any shape with the kept dims' elements in order (reduced dims dropped or kept as 1).
    /// </summary>
    public static Tensor ReduceTo(Tensor x, ReduceOp op, ReadOnlySpan<int> dims, long[] shape)
    {
        int rank = x.Dim;
        var result = Tensor.Empty(shape, x.DType);

        long outer = 1, n = 1, inner = 1;
        Tensor source;
        bool block = dims.Length > 0 && dims[^1] - dims[0] == dims.Length - 1;
        if (block && x.IsContiguous)
        {
            for (int i = 0; i < dims[0]; i++) outer *= x.ShapeArray[i];
            foreach (int d in dims) n *= x.ShapeArray[d];
            for (int i = dims[^1] + 1; i < rank; i++) inner *= x.ShapeArray[i];
            source = x;
        }
        else
        {
            var perm = new int[rank];
            int k = 0;
            for (int i = 0, r = 0; i < rank; i++)
            {
                if (r < dims.Length && dims[r] == i) { r++; continue; }
                perm[k++] = i;
                outer *= x.ShapeArray[i];
            }
            foreach (int d in dims) { perm[k++] = d; n *= x.ShapeArray[d]; }
            source = ContiguousCopy(Views.PermuteView(x, perm));
        }
        if (result.NumElements > 0)
            Backend.Reduce(x.DType, op, outer, n, inner, source.DataPointer, result.DataPointer);
        if (!ReferenceEquals(source, x)) source.Dispose();
        return result;
    }

    public static Tensor Softmax(Tensor x, bool log)
    {
        x = Contiguous(x);
        var result = Tensor.Empty(x.ShapeArray, x.DType);
        long cols = x.Dim == 0 ? 1 : x.ShapeArray[^1];
        long rows = cols == 0 ? 0 : x.NumElements / cols;
        if (result.NumElements > 0) Backend.Softmax(x.DType, log, rows, cols, x.DataPointer, result.DataPointer);
        return result;
    }

    /// <summary>The fused one-pass gradient of a last-dim softmax (or log_softmax) from its output and incoming gradient.</summary>
    public static Tensor SoftmaxBackward(Tensor y, Tensor g, bool log)
    {
        y = Contiguous(y);
        g = Contiguous(g);
        var dx = Tensor.EmptyLike(y);
        long cols = y.Dim == 0 ? 1 : y.ShapeArray[^1];
        long rows = cols == 0 ? 0 : y.NumElements / cols;
        if (dx.NumElements > 0) Backend.SoftmaxBackward(y.DType, log, rows, cols, y.DataPointer, g.DataPointer, dx.DataPointer);
        return dx;
    }

    /// <summary>
    /// Batched C[b] = op(A[b]) op(B[b]) for 3-D operands [batch, rows, cols] (batch may be 1 for broadcast).
    /// Transposed operands are passed by their strides, without copying.
    /// </summary>
    public static Tensor Bmm(Tensor a, Tensor b, long batch)
    {
        // a: [ba, m, k], b: [bb, k, n], with ba, bb in {1, batch}.
        long m = a.ShapeArray[1], k = a.ShapeArray[2], n = b.ShapeArray[2];
        if (k == 0) return Full([batch, m, n], a.DType, 0);
        var result = Tensor.Empty([batch, m, n], a.DType); // beta = 0: the kernel writes every element without reading
        if (batch == 0 || m == 0 || n == 0) return result;
        var (pa, transA, lda, strideA) = GemmOperand(ref a);
        var (pb, transB, ldb, strideB) = GemmOperand(ref b);
        Backend.Gemm(a.DType, transA, transB, m, n, k, 1.0, (void*)pa, lda, a.ShapeArray[0] == 1 ? 0 : strideA,
                     (void*)pb, ldb, b.ShapeArray[0] == 1 ? 0 : strideB, 0.0, result.DataPointer, n, m * n, batch);
        return result;
    }

    /// <summary>
    /// C = A B for A seen as [m, k] through strides (sa0, sa1) and B as [k, n] through (sb0, sb1), both from their
    /// tensor's data pointer; the result is a new contiguous tensor of <paramref name="resultShape"/> (m * n elements). No
    /// view objects: vector-matrix, matrix-vector and dot products describe their operands by strides (a vector's
    /// missing dim has stride 0).
    /// </summary>
    public static Tensor Gemm2D(Tensor a, long m, long k, long sa0, long sa1, Tensor b, long n, long sb0, long sb1, ReadOnlySpan<long> resultShape)
    {
        var shape = Shapes.Intern(resultShape); // the callers' shapes are spans on their stacks
        if (k == 0) return Full(shape, a.DType, 0);
        var state = ThreadState.Current;
        var result = Tensor.Empty(shape, a.DType, state); // beta = 0: the kernel writes every element without reading
        if (m == 0 || n == 0) return result;
        if (!Layout(m, k, sa0, sa1, out bool transA, out long lda) || !Layout(k, n, sb0, sb1, out bool transB, out long ldb))
        {
            // Neither row- nor column-major (e.g. a view with gaps in both dims): the general batched path copies.
            result.Dispose();
            using var a3 = Views.View(a, [1, m, k], [0, sa0, sa1], a.Offset);
            using var b3 = Views.View(b, [1, k, n], [0, sb0, sb1], b.Offset);
            using var c3 = Bmm(a3, b3, 1);
            return ContiguousCopy(Views.View(c3, shape, Shapes.ContiguousStrides(shape), 0));
        }
        Backend.Gemm(a.DType, transA, transB, m, n, k, 1.0, a.DataPointerOn(state), lda, 0, b.DataPointerOn(state), ldb, 0, 0.0, result.DataPointerOn(state), n, m * n, 1);
        return result;
    }

    /// <summary>
    /// bias + a·b for 2-D a [m, k] and b [k, n] of one dtype, bias broadcastable to [m, n] (PyTorch's addmm): the bias is
    /// copied into the result and the GEMM adds the product to it (beta = 1), one pass over the result instead of a
    /// product and a sum. The sums are those of mm then add, rounded in another order when k spans several k blocks
    /// (the native GEMM adds C to its first block's partial sums, as BLAS addmm does). Null when the operands are
    /// neither row- nor column-major or empty (the caller composes mm and add then).
    /// </summary>
    public static Tensor? AddMm(Tensor bias, Tensor a, Tensor b)
    {
        long m = a.ShapeArray[0], k = a.ShapeArray[1], n = b.ShapeArray[1];
        if (m == 0 || n == 0 || k == 0) return null;
        if (!Layout(m, k, a.StridesArray[0], a.StridesArray[1], out bool transA, out long lda)
            || !Layout(k, n, b.StridesArray[0], b.StridesArray[1], out bool transB, out long ldb)) return null;
        var state = ThreadState.Current;
        var result = Tensor.Empty(Shapes.Intern([m, n]), a.DType, state);
        CopyInto(bias, result);
        Backend.Gemm(a.DType, transA, transB, m, n, k, 1.0, a.DataPointerOn(state), lda, 0, b.DataPointerOn(state), ldb, 0, 1.0, result.DataPointerOn(state), n, m * n, 1);
        return result;
    }

    /// <summary>Whether a [rows, cols] operand with strides (sr, sc) is row-major (trans false) or column-major, and its leading dimension.</summary>
    private static bool Layout(long rows, long cols, long sr, long sc, out bool trans, out long ld)
    {
        if ((sc == 1 || cols == 1) && (sr >= Math.Max(cols, 1) || rows == 1)) { trans = false; ld = rows == 1 ? Math.Max(cols, 1) : sr; return true; }
        if ((sr == 1 || rows == 1) && (sc >= Math.Max(rows, 1) || cols == 1)) { trans = true; ld = cols == 1 ? Math.Max(rows, 1) : sc; return true; }
        trans = false;
        ld = 0;
        return false;
    }

    /// <summary>Describes a [batch, rows, cols] operand as (pointer, transposed, leading dimension, batch stride), copying only if neither layout fits.</summary>
    private static (nint Pointer, bool Trans, long Ld, long BatchStride) GemmOperand(ref Tensor t)
    {
        long rows = t.ShapeArray[1], cols = t.ShapeArray[2];
        long sb = t.StridesArray[0], sr = t.StridesArray[1], sc = t.StridesArray[2];
        if ((sc == 1 || cols == 1) && sr >= Math.Max(cols, 1)) return ((nint)t.DataPointer, false, rows == 1 ? Math.Max(cols, 1) : sr, sb);
        if ((sr == 1 || rows == 1) && sc >= Math.Max(rows, 1)) return ((nint)t.DataPointer, true, cols == 1 ? Math.Max(rows, 1) : sc, sb);
        t = ContiguousCopy(t);
        return ((nint)t.DataPointer, false, cols, rows * cols);
    }

    public static Tensor Cast(Tensor x, DType dtype)
    {
        if (x.DType == dtype) return x;
        x = Contiguous(x);
        var result = Tensor.Empty(x.ShapeArray, dtype);
        long n = x.NumElements;
        void* src = x.DataPointer, dst = result.DataPointer;
        for (long i = 0; i < n; i++)
        {
            double v = x.DType switch { DType.Float32 => ((float*)src)[i], DType.Float64 => ((double*)src)[i], _ => ((long*)src)[i] };
            switch (dtype)
            {
                case DType.Float32: ((float*)dst)[i] = (float)v; break;
                case DType.Float64: ((double*)dst)[i] = v; break;
                default: ((long*)dst)[i] = (long)v; break;
            }
        }
        return result;
    }

    public static Tensor IndexSelect(Tensor x, int dim, Tensor index)
    {
        x = Contiguous(x);
        index = Contiguous(index);
        var (outer, inner) = OuterInner(x.ShapeArray, dim);
        long nidx = index.NumElements;
        var shape = (long[])x.ShapeArray.Clone();
        if (shape.Length > 0) shape[dim] = nidx;
        var result = Tensor.Empty(shape, x.DType);
        if (result.NumElements > 0)
            Backend.IndexSelect(x.DType, outer, x.Dim == 0 ? 1 : x.ShapeArray[dim], inner, x.DataPointer, (long*)index.DataPointer, nidx, result.DataPointer);
        return result;
    }

    /// <summary>zeros(shape) with result[..., index[j], ...] += src[..., j, ...] along <paramref name="dim"/>.</summary>
    public static Tensor IndexAdd(Tensor src, int dim, Tensor index, long[] shape)
    {
        src = Contiguous(src);
        index = Contiguous(index);
        var result = Full(shape, src.DType, 0);
        var (outer, inner) = OuterInner(shape, dim);
        if (src.NumElements > 0)
            Backend.IndexAdd(src.DType, outer, shape.Length == 0 ? 1 : shape[dim], inner, src.DataPointer, (long*)index.DataPointer, index.NumElements, result.DataPointer);
        return result;
    }

    /// <summary>result[o, i] = x[o, idx[o, i], i] for x viewed as [outer, dim, inner].</summary>
    public static Tensor Gather(Tensor x, int dim, Tensor index)
    {
        x = Contiguous(x);
        index = Contiguous(index);
        var (outer, inner) = OuterInner(x.ShapeArray, dim);
        var result = Tensor.Empty(index.ShapeArray, x.DType);
        if (result.NumElements > 0)
            Backend.Gather(x.DType, outer, x.ShapeArray[dim], inner, x.DataPointer, (long*)index.DataPointer, result.DataPointer);
        return result;
    }

    /// <summary>zeros(shape) with result[o, idx[o, i], i] += src[o, i].</summary>
    public static Tensor ScatterAdd(Tensor src, int dim, Tensor index, long[] shape)
    {
        src = Contiguous(src);
        index = Contiguous(index);
        var result = Full(shape, src.DType, 0);
        var (outer, inner) = OuterInner(shape, dim);
        if (src.NumElements > 0)
            Backend.ScatterAdd(src.DType, outer, shape[dim], inner, src.DataPointer, (long*)index.DataPointer, result.DataPointer);
        return result;
    }

    /// <summary>The element counts before and after <paramref name="dim"/>: the [outer, dim, inner] view the indexing kernels take.</summary>
    private static (long Outer, long Inner) OuterInner(long[] shape, int dim)
    {
        long outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= shape[i];
        for (int i = dim + 1; i < shape.Length; i++) inner *= shape[i];
        return (outer, inner);
    }

    public static Tensor Im2Col(Tensor x, long kh, long kw, long sh, long sw, long ph, long pw, long oh, long ow)
    {
        x = Contiguous(x);
        long n = x.ShapeArray[0], c = x.ShapeArray[1];
        var cols = Tensor.Empty([n, c * kh * kw, oh * ow], x.DType);
        if (cols.NumElements > 0)
            Backend.Im2Col(x.DType, n, c, x.ShapeArray[2], x.ShapeArray[3], kh, kw, sh, sw, ph, pw, x.DataPointer, cols.DataPointer);
        return cols;
    }

    public static Tensor Col2Im(Tensor cols, long[] imageShape, long kh, long kw, long sh, long sw, long ph, long pw)
    {
        cols = Contiguous(cols);
        var x = Full(imageShape, cols.DType, 0);
        if (cols.NumElements > 0)
            Backend.Col2Im(cols.DType, imageShape[0], imageShape[1], imageShape[2], imageShape[3], kh, kw, sh, sw, ph, pw, cols.DataPointer, x.DataPointer);
        return x;
    }

    public static (Tensor Values, Tensor Indices) MaxPool2d(Tensor x, long kh, long kw, long sh, long sw, long oh, long ow)
    {
        x = Contiguous(x);
        long n = x.ShapeArray[0], c = x.ShapeArray[1];
        var y = Tensor.Empty([n, c, oh, ow], x.DType);
        var idx = Tensor.Empty([n, c, oh, ow], DType.Int64);
        if (y.NumElements > 0)
            Backend.MaxPool2d(x.DType, n, c, x.ShapeArray[2], x.ShapeArray[3], kh, kw, sh, sw, x.DataPointer, y.DataPointer, (long*)idx.DataPointer);
        return (y, idx);
    }
}
