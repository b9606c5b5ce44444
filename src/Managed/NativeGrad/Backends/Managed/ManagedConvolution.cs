using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;

namespace NativeGrad.Backends;

/// <summary>
/// NCHW convolution helpers (ng_im2col, ng_col2im, ng_maxpool2d). Work is split over (image, channel) planes, which
/// never share output elements, so the parallel split does not change results. Unit-stride rows move as block
/// copies / vectorised adds with the zero-padding border handled by range clipping.
/// </summary>
internal static unsafe class ManagedConvolution
{
    private const long ParallelWork = 1 << 16;

    /// <summary>x [N, C, H, W] -> cols [N, C*KH*KW, OH*OW] with zero padding.</summary>
    public static void Im2Col<T>(long n, long c, long h, long w, long kh, long kw, long sh, long sw, long ph, long pw, T* x, T* cols)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var g = new Geometry(n, c, h, w, kh, kw, sh, sw, ph, pw);
        if (g.Empty) return;
        var planes = new Im2ColPlanes<T>(g, h, w, kh, kw, sh, sw, ph, pw, x, cols);
        ManagedParallel.For(n * c, kh * kw * g.OH * g.OW, ParallelWork, ref planes);
    }

    /// <summary>The body of <see cref="Im2Col{T}"/>: item nc unfolds plane nc (image n, channel c).</summary>
    private readonly struct Im2ColPlanes<T>(Geometry g, long h, long w, long kh, long kw, long sh, long sw, long ph, long pw, T* x, T* cols)
        : IParallelBody where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(long nc)
        {
            long planeCols = kh * kw * g.OH * g.OW;
            T* src = x + nc * h * w;
            T* dst = cols + nc * planeCols; // rows (c, ki, kj) of image n are contiguous in this layout
            for (long ki = 0; ki < kh; ki++)
            {
                for (long kj = 0; kj < kw; kj++)
                {
                    g.ColumnRange(kj, out long owLo, out long owHi);
                    for (long oh = 0; oh < g.OH; oh++)
                    {
                        T* d = dst + oh * g.OW;
                        long hi = oh * sh - ph + ki;
                        if (hi < 0 || hi >= h || owLo >= owHi)
                        {
                            new Span<T>(d, (int)g.OW).Clear();
                            continue;
                        }
                        for (long ow = 0; ow < owLo; ow++) d[ow] = T.Zero;
                        T* s = src + hi * w - pw + kj;
                        if (sw == 1) new ReadOnlySpan<T>(s + owLo, (int)(owHi - owLo)).CopyTo(new Span<T>(d + owLo, (int)(owHi - owLo)));
                        else for (long ow = owLo; ow < owHi; ow++) d[ow] = s[ow * sw];
                        for (long ow = owHi; ow < g.OW; ow++) d[ow] = T.Zero;
                    }
                    dst += g.OH * g.OW;
                }
            }
        }
    }

    /// <summary>The adjoint of <see cref="Im2Col{T}"/>: x [N, C, H, W] += fold(cols).</summary>
    public static void Col2Im<T>(long n, long c, long h, long w, long kh, long kw, long sh, long sw, long ph, long pw, T* cols, T* x)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var g = new Geometry(n, c, h, w, kh, kw, sh, sw, ph, pw);
        if (g.Empty) return;
        var planes = new Col2ImPlanes<T>(g, h, w, kh, kw, sh, sw, ph, pw, cols, x);
        ManagedParallel.For(n * c, kh * kw * g.OH * g.OW, ParallelWork, ref planes);
    }

    /// <summary>The body of <see cref="Col2Im{T}"/>: item nc folds into plane nc (image n, channel c).</summary>
    private readonly struct Col2ImPlanes<T>(Geometry g, long h, long w, long kh, long kw, long sh, long sw, long ph, long pw, T* cols, T* x)
        : IParallelBody where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(long nc)
        {
            long planeCols = kh * kw * g.OH * g.OW;
            T* dst = x + nc * h * w;
            T* src = cols + nc * planeCols;
            for (long ki = 0; ki < kh; ki++)
            {
                for (long kj = 0; kj < kw; kj++)
                {
                    g.ColumnRange(kj, out long owLo, out long owHi);
                    for (long oh = 0; oh < g.OH; oh++)
                    {
                        long hi = oh * sh - ph + ki;
                        if (hi < 0 || hi >= h || owLo >= owHi) continue;
                        T* s = src + oh * g.OW;
                        T* d = dst + hi * w - pw + kj;
                        if (sw == 1)
                        {
                            var row = new Span<T>(d + owLo, (int)(owHi - owLo));
                            TensorPrimitives.Add(row, new ReadOnlySpan<T>(s + owLo, row.Length), row);
                        }
                        else
                        {
                            for (long ow = owLo; ow < owHi; ow++) d[ow * sw] += s[ow];
                        }
                    }
                    src += g.OH * g.OW;
                }
            }
        }
    }

    /// <summary>Max pooling without padding; idx holds the flat h*W + w of the first maximum; a NaN takes over whenever met (so the last NaN wins, as in PyTorch).</summary>
    public static void MaxPool2d<T>(long n, long c, long h, long w, long kh, long kw, long sh, long sw, T* x, T* y, long* idx)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var g = new Geometry(n, c, h, w, kh, kw, sh, sw, 0, 0);
        if (g.Empty) return;
        var planes = new MaxPoolPlanes<T>(g, h, w, kh, kw, sh, sw, x, y, idx);
        ManagedParallel.For(n * c, g.OH * g.OW * kh * kw, ParallelWork, ref planes);
    }

    /// <summary>The body of <see cref="MaxPool2d{T}"/>: item nc pools plane nc (image n, channel c).</summary>
    private readonly struct MaxPoolPlanes<T>(Geometry g, long h, long w, long kh, long kw, long sh, long sw, T* x, T* y, long* idx)
        : IParallelBody where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(long nc)
        {
            long outPlane = g.OH * g.OW;
            T* src = x + nc * h * w;
            T* dst = y + nc * outPlane;
            long* ix = idx + nc * outPlane;
            for (long oh = 0; oh < g.OH; oh++)
            {
                for (long ow = 0; ow < g.OW; ow++)
                {
                    long h0 = oh * sh, w0 = ow * sw;
                    long best = h0 * w + w0;
                    T bestValue = T.NegativeInfinity;
                    for (long i = h0; i < h0 + kh; i++)
                    {
                        T* row = src + i * w;
                        for (long j = w0; j < w0 + kw; j++)
                        {
                            T v = row[j];
                            if (v > bestValue || T.IsNaN(v)) // as PyTorch's CPU kernel (and the C core): a NaN always takes over
                            {
                                bestValue = v;
                                best = i * w + j;
                            }
                        }
                    }
                    dst[oh * g.OW + ow] = bestValue;
                    ix[oh * g.OW + ow] = best;
                }
            }
        }
    }

    /// <summary>Output size and the per-kernel-column valid output range.</summary>
    private readonly struct Geometry
    {
        public readonly long OH, OW;
        public readonly bool Empty;
        private readonly long _w, _sw, _pw;

        public Geometry(long n, long c, long h, long w, long kh, long kw, long sh, long sw, long ph, long pw)
        {
            if (n < 0 || c < 0 || h < 0 || w < 0 || kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0 || ph < 0 || pw < 0)
                throw new ArgumentException("Invalid convolution geometry.");
            long hSpan = h + 2 * ph - kh, wSpan = w + 2 * pw - kw;
            OH = hSpan < 0 ? 0 : hSpan / sh + 1;
            OW = wSpan < 0 ? 0 : wSpan / sw + 1;
            Empty = n == 0 || c == 0 || OH == 0 || OW == 0;
            _w = w; _sw = sw; _pw = pw;
        }

        /// <summary>[lo, hi): the output columns ow whose input column ow*SW - PW + kj lies inside [0, W).</summary>
        public void ColumnRange(long kj, out long lo, out long hi)
        {
            long off = kj - _pw; // input column = ow*sw + off
            lo = off >= 0 ? 0 : (-off + _sw - 1) / _sw;
            hi = _w - off <= 0 ? 0 : Math.Min(OW, (_w - off - 1) / _sw + 1);
            if (lo > hi) lo = hi;
        }
    }
}
