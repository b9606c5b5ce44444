using System.Numerics;
using System.Runtime.CompilerServices;

namespace NativeGrad.Backends;

/// <summary>
/// An element-wise unary operator (struct, so the JIT specialises every loop for it). Parameterised operators keep
/// their scalars in fields. <see cref="Vectorizable"/> says whether <see cref="Invoke(Vector{T})"/> is implemented;
/// when it is, the scalar and the vector forms evaluate the same expression so the tail matches the body.
/// </summary>
internal interface IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    static abstract bool Vectorizable { get; }
    /// <summary>Compute-bound (worth splitting across threads) rather than memory-bound.</summary>
    static abstract bool Expensive { get; }
    T Invoke(T x);
    Vector<T> Invoke(Vector<T> x);
}

/// <summary>An element-wise binary operator; see <see cref="IUnaryOperator{T}"/>.</summary>
internal interface IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    static abstract bool Vectorizable { get; }
    static abstract T Invoke(T a, T b);
    static abstract Vector<T> Invoke(Vector<T> a, Vector<T> b);
}

/// <summary>The shared element-wise loops: a vector body over <see cref="Vector{T}"/> plus a scalar tail.</summary>
internal static unsafe class ElementwiseLoops
{
    /// <summary>Below this many elements a loop is not worth splitting across threads.</summary>
    public const long ParallelGrain = 1 << 15;

    /// <summary>y[i] = op(x[i]); y may equal x.</summary>
    /// <remarks>Its own compilation root, tiered with profile data: inlined into a pool worker's small entry point it
    /// got that root's small inline budget, the op's vector math stayed out of line, and tanh 1M at 2 threads took
    /// 723-749 us against 852-877 on one (kernel level, Stopwatch medians); compiled up front
    /// (AggressiveOptimization) it ran 1000 us on one thread. As it is: 850 / 425-440 us.</remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Unary<T, TOp>(in TOp op, T* x, T* y, long n)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, IUnaryOperator<T>
    {
        long i = 0;
        if (TOp.Vectorizable && Vector.IsHardwareAccelerated)
        {
            long w = Vector<T>.Count;
            for (; i <= n - 4 * w; i += 4 * w)
            {
                Vector<T> v0 = op.Invoke(Vector.Load(x + i));
                Vector<T> v1 = op.Invoke(Vector.Load(x + i + w));
                Vector<T> v2 = op.Invoke(Vector.Load(x + i + 2 * w));
                Vector<T> v3 = op.Invoke(Vector.Load(x + i + 3 * w));
                Vector.Store(v0, y + i);
                Vector.Store(v1, y + i + w);
                Vector.Store(v2, y + i + 2 * w);
                Vector.Store(v3, y + i + 3 * w);
            }
            for (; i <= n - w; i += w) Vector.Store(op.Invoke(Vector.Load(x + i)), y + i);
        }
        for (; i < n; i++) y[i] = op.Invoke(x[i]);
    }

    /// <summary><see cref="Unary{T, TOp}"/> split into fixed chunks across threads when <paramref name="n"/> is large
    /// (element-wise, so the result does not depend on the split).</summary>
    public static void UnaryParallel<T, TOp>(TOp op, T* x, T* y, long n, long grain = ParallelGrain)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, IUnaryOperator<T>
    {
        int threads = ManagedParallel.Threads;
        if (n < 2 * grain || threads == 1)
        {
            Unary(op, x, y, n);
            return;
        }
        var chunks = new UnaryChunks<T, TOp>(op, x, y, n, grain);
        ManagedParallel.For((n + grain - 1) / grain, threads, ref chunks);
    }

    /// <summary>The parallel body of <see cref="UnaryParallel{T, TOp}"/>: item ch is elements [ch * grain, (ch + 1) * grain).</summary>
    private readonly struct UnaryChunks<T, TOp>(TOp op, T* x, T* y, long n, long grain) : IParallelBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, IUnaryOperator<T>
    {
        public void Invoke(long ch)
        {
            long start = ch * grain;
            Unary(op, x + start, y + start, Math.Min(grain, n - start));
        }
    }

    /// <summary>o[i] = op(a[i], b[i]) over contiguous a, b and o.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Contiguous<T, TOp>(T* a, T* b, T* o, long n)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, IBinaryOperator<T>
    {
        long i = 0;
        if (TOp.Vectorizable && Vector.IsHardwareAccelerated)
        {
            long w = Vector<T>.Count;
            for (; i <= n - 2 * w; i += 2 * w)
            {
                Vector<T> r0 = TOp.Invoke(Vector.Load(a + i), Vector.Load(b + i));
                Vector<T> r1 = TOp.Invoke(Vector.Load(a + i + w), Vector.Load(b + i + w));
                Vector.Store(r0, o + i);
                Vector.Store(r1, o + i + w);
            }
            for (; i <= n - w; i += w) Vector.Store(TOp.Invoke(Vector.Load(a + i), Vector.Load(b + i)), o + i);
        }
        for (; i < n; i++) o[i] = TOp.Invoke(a[i], b[i]);
    }

    /// <summary>o[i] = op(a[i], b) with a contiguous and b a scalar.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScalarRight<T, TOp>(T* a, T b, T* o, long n)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, IBinaryOperator<T>
    {
        long i = 0;
        if (TOp.Vectorizable && Vector.IsHardwareAccelerated)
        {
            long w = Vector<T>.Count;
            Vector<T> vb = new(b);
            for (; i <= n - 2 * w; i += 2 * w)
            {
                Vector<T> r0 = TOp.Invoke(Vector.Load(a + i), vb);
                Vector<T> r1 = TOp.Invoke(Vector.Load(a + i + w), vb);
                Vector.Store(r0, o + i);
                Vector.Store(r1, o + i + w);
            }
            for (; i <= n - w; i += w) Vector.Store(TOp.Invoke(Vector.Load(a + i), vb), o + i);
        }
        for (; i < n; i++) o[i] = TOp.Invoke(a[i], b);
    }

    /// <summary>o[i] = op(a, b[i]) with a a scalar and b contiguous.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScalarLeft<T, TOp>(T a, T* b, T* o, long n)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, IBinaryOperator<T>
    {
        long i = 0;
        if (TOp.Vectorizable && Vector.IsHardwareAccelerated)
        {
            long w = Vector<T>.Count;
            Vector<T> va = new(a);
            for (; i <= n - 2 * w; i += 2 * w)
            {
                Vector<T> r0 = TOp.Invoke(va, Vector.Load(b + i));
                Vector<T> r1 = TOp.Invoke(va, Vector.Load(b + i + w));
                Vector.Store(r0, o + i);
                Vector.Store(r1, o + i + w);
            }
            for (; i <= n - w; i += w) Vector.Store(TOp.Invoke(va, Vector.Load(b + i)), o + i);
        }
        for (; i < n; i++) o[i] = TOp.Invoke(a, b[i]);
    }

    /// <summary>o[i] = op(a[i*sa], b[i*sb]) with o contiguous; dispatches to the vector loops when it can.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Row<T, TOp>(T* a, long sa, T* b, long sb, T* o, long n)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, IBinaryOperator<T>
    {
        if (sa == 1 && sb == 1) Contiguous<T, TOp>(a, b, o, n);
        else if (sa == 1 && sb == 0) ScalarRight<T, TOp>(a, *b, o, n);
        else if (sa == 0 && sb == 1) ScalarLeft<T, TOp>(*a, b, o, n);
        else if (sa == 0 && sb == 0) new Span<T>(o, checked((int)n)).Fill(TOp.Invoke(*a, *b));
        else
        {
            for (long i = 0; i < n; i++) o[i] = TOp.Invoke(a[i * sa], b[i * sb]);
        }
    }

    /// <summary>1 where the mask lane is set, 0 elsewhere.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> MaskToOne<T>(Vector<T> mask) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Vector.BitwiseAnd(mask, Vector<T>.One);

    /// <summary>All-ones lanes where x is NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> IsNaN<T>(Vector<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Vector.OnesComplement(Vector.Equals(x, x));

    /// <summary>NaN-propagating maximum (torch.maximum): a if a &gt; b or a is NaN, else b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Maximum<T>(T a, T b) where T : unmanaged, IBinaryFloatingPointIeee754<T> => a > b || T.IsNaN(a) ? a : b;

    /// <summary>NaN-propagating minimum (torch.minimum): a if a &lt; b or a is NaN, else b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Minimum<T>(T a, T b) where T : unmanaged, IBinaryFloatingPointIeee754<T> => a < b || T.IsNaN(a) ? a : b;

    /// <summary>Vector form of <see cref="Maximum{T}(T, T)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Maximum<T>(Vector<T> a, Vector<T> b) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Vector.ConditionalSelect(Vector.BitwiseOr(Vector.GreaterThan(a, b), IsNaN(a)), a, b);

    /// <summary>Vector form of <see cref="Minimum{T}(T, T)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Minimum<T>(Vector<T> a, Vector<T> b) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Vector.ConditionalSelect(Vector.BitwiseOr(Vector.LessThan(a, b), IsNaN(a)), a, b);

    /// <summary>x * y + z with a single rounding (hardware FMA where available).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> FusedMultiplyAdd<T>(Vector<T> x, Vector<T> y, Vector<T> z) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
            return Vector.FusedMultiplyAdd(x.As<T, float>(), y.As<T, float>(), z.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector.FusedMultiplyAdd(x.As<T, double>(), y.As<T, double>(), z.As<T, double>()).As<double, T>();
        throw new NotSupportedException();
    }
}
