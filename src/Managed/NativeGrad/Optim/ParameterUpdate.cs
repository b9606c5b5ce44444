using NativeGrad.Backends;

namespace NativeGrad.Optim;

/// <summary>
/// The in-place arithmetic of optimizer steps: flat element-wise kernels of the current backend on the storage of
/// contiguous tensors of one dtype, writing over an operand (every kernel here reads element i before writing it).
/// Nothing is allocated and nothing is recorded: the optimizers call these under NoGrad and bump the storage
/// versions of what they wrote, so a graph that saved a parameter before the step refuses a second backward.
/// </summary>
internal static unsafe class ParameterUpdate
{
    /// <summary>A flat, contiguous operand: the first <see cref="Count"/> elements at <see cref="Pointer"/>.</summary>
    internal readonly struct Flat
    {
        public readonly void* Pointer;
        public readonly long Count;
        public readonly DType DType;

        public Flat(void* pointer, long count, DType dtype)
        {
            Pointer = pointer;
            Count = count;
            DType = dtype;
        }
    }

    /// <summary>The whole of a contiguous tensor.</summary>
    public static Flat Of(Tensor t)
    {
        if (!t.IsContiguous) throw new InvalidOperationException($"optimizers update contiguous tensors in place; got one of shape {Shapes.Format(t.Shape)} and strides {Shapes.Format(t.Strides)}");
        return new Flat(t.DataPointer, t.NumElements, t.DType);
    }

    /// <summary>The first <paramref name="count"/> elements of a workspace tensor.</summary>
    public static Flat Prefix(Tensor workspace, long count) => new(workspace.DataPointer, count, workspace.DType);

    private static IBackend Backend => Runtime.Current;

    /// <summary>True when both operands start at the same address.</summary>
    public static bool SameBuffer(Flat a, Flat b) => a.Pointer == b.Pointer;

    /// <summary>dst = alpha · src + beta (dst may be src).</summary>
    public static void Affine(Flat dst, Flat src, double alpha, double beta = 0.0)
    {
        if (dst.Count > 0) Backend.Unary(dst.DType, UnaryOp.Affine, dst.Count, src.Pointer, dst.Pointer, alpha, beta);
    }

    /// <summary>dst = √src (dst may be src).</summary>
    public static void Sqrt(Flat dst, Flat src)
    {
        if (dst.Count > 0) Backend.Unary(dst.DType, UnaryOp.Sqrt, dst.Count, src.Pointer, dst.Pointer, 0, 0);
    }

    /// <summary>dst = a op b element-wise (dst may be a or b).</summary>
    public static void Binary(BinaryOp op, Flat dst, Flat a, Flat b)
    {
        if (dst.Count == 0) return;
        ReadOnlySpan<long> shape = [dst.Count];
        ReadOnlySpan<long> unit = [1];
        Backend.Binary(dst.DType, op, shape, a.Pointer, unit, b.Pointer, unit, dst.Pointer);
    }

    /// <summary>dst += alpha · src, with <paramref name="scratch"/> (distinct from dst) holding alpha · src when alpha ≠ 1.</summary>
    public static void AddScaled(Flat dst, Flat src, double alpha, Flat scratch)
    {
        if (alpha == 1.0)
        {
            Binary(BinaryOp.Add, dst, dst, src);
            return;
        }
        Affine(scratch, src, alpha);
        Binary(BinaryOp.Add, dst, dst, scratch);
    }

    /// <summary>Copies src into dst.</summary>
    public static void Copy(Flat dst, Flat src)
    {
        long bytes = src.Count * src.DType.ElementSize();
        Buffer.MemoryCopy(src.Pointer, dst.Pointer, bytes, bytes);
    }

    /// <summary>Copies a possibly strided tensor (a gradient) into the contiguous workspace <paramref name="dst"/>.</summary>
    public static void CopyStrided(Flat dst, Tensor src)
    {
        if (dst.Count == 0) return;
        Backend.CopyStrided(src.DType, src.ShapeArray, src.DataPointer, src.StridesArray, dst.Pointer, Shapes.ContiguousStrides(src.ShapeArray));
    }
}
