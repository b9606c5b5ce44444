using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;

namespace NativeGrad.Backends;

/// <summary>
/// Row-wise softmax / log_softmax over a contiguous [rows, cols] array (ng_softmax): the row maximum is subtracted
/// first (so logits of +-1000 are fine), exponentials come from <see cref="TensorPrimitives.Exp{T}(ReadOnlySpan{T}, Span{T})"/>
/// and the normaliser is summed in double. Rows are independent and split across threads when large.
/// </summary>
internal static unsafe class ManagedSoftmax
{
    private const int Chunk = 1024;
    private const long ParallelWork = 1 << 16;

    public static void Run<T>(bool log, long rows, long cols, T* x, T* y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (rows < 0 || cols < 0) throw new ArgumentException("Negative size.");
        if (rows == 0 || cols == 0) return;
        if (rows == 1 || rows * cols < ParallelWork || Environment.ProcessorCount == 1)
        {
            for (long r = 0; r < rows; r++) Row(log, x + r * cols, y + r * cols, cols);
            return;
        }
        Parallel.For(0, rows, r => Row(log, x + r * cols, y + r * cols, cols));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row<T>(bool log, T* x, T* y, long cols) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T max = ManagedReduce.MaxRow(x, cols); // NaN anywhere makes the whole row NaN, as in torch
        if (!log)
        {
            // y = exp(x - max) / sum(exp(x - max)); y may be x.
            double sum = 0;
            for (long start = 0; start < cols; start += Chunk)
            {
                int len = (int)Math.Min(Chunk, cols - start);
                var ys = new Span<T>(y + start, len);
                TensorPrimitives.Subtract(new ReadOnlySpan<T>(x + start, len), max, ys);
                TensorPrimitives.Exp(ys, ys);
                sum += ManagedReduce.SumRow(y + start, len);
            }
            T total = T.CreateTruncating(sum);
            for (long start = 0; start < cols; start += Chunk)
            {
                int len = (int)Math.Min(Chunk, cols - start);
                var ys = new Span<T>(y + start, len);
                TensorPrimitives.Divide(ys, total, ys);
            }
            return;
        }

        // y = (x - max) - log(sum(exp(x - max))), with the exponentials in a scratch chunk (y may be x).
        T* scratch = stackalloc T[Chunk];
        double s = 0;
        for (long start = 0; start < cols; start += Chunk)
        {
            int len = (int)Math.Min(Chunk, cols - start);
            var tmp = new Span<T>(scratch, len);
            TensorPrimitives.Subtract(new ReadOnlySpan<T>(x + start, len), max, tmp);
            TensorPrimitives.Exp(tmp, tmp);
            s += ManagedReduce.SumRow(scratch, len);
        }
        T logSum = T.CreateTruncating(Math.Log(s));
        for (long start = 0; start < cols; start += Chunk)
        {
            int len = (int)Math.Min(Chunk, cols - start);
            var ys = new Span<T>(y + start, len);
            TensorPrimitives.Subtract(new ReadOnlySpan<T>(x + start, len), max, ys);
            TensorPrimitives.Subtract(ys, logSum, ys);
        }
    }

    /// <summary>
    /// ng_softmax_backward: softmax dx = y (g - sum(g y)); log_softmax dx = g - exp(y) sum(g); row sums in double.
    /// dx may equal g.
    /// </summary>
    public static void Backward<T>(bool log, long rows, long cols, T* y, T* g, T* dx)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (long r = 0; r < rows; r++)
        {
            T* yr = y + r * cols, gr = g + r * cols, dr = dx + r * cols;
            double sum = 0;
            if (log)
            {
                for (long i = 0; i < cols; i++) sum += double.CreateTruncating(gr[i]);
                for (long i = 0; i < cols; i++)
                    dr[i] = T.CreateTruncating(double.CreateTruncating(gr[i]) - Math.Exp(double.CreateTruncating(yr[i])) * sum);
            }
            else
            {
                for (long i = 0; i < cols; i++) sum += double.CreateTruncating(gr[i]) * double.CreateTruncating(yr[i]);
                for (long i = 0; i < cols; i++)
                    dr[i] = T.CreateTruncating(double.CreateTruncating(yr[i]) * (double.CreateTruncating(gr[i]) - sum));
            }
        }
    }
}
