using System.Numerics;
using System.Runtime.CompilerServices;

namespace NativeGrad.Backends;

/// <summary>
/// Vector forms of the transcendental building blocks, generic over float/double on top of the BCL's
/// <see cref="Vector.Exp(Vector{float})"/> / <see cref="Vector.Log(Vector{float})"/> (about 1-2 ulp). expm1 and log1p
/// use Kahan's compensation tricks so they stay accurate for tiny arguments; tanh uses the Cephes rational below
/// 0.625 (TensorPrimitives.Tanh is inaccurate there) and 1 - 2/(exp(2|x|) + 1) above.
/// </summary>
internal static class VectorMath
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Exp<T>(Vector<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return Vector.Exp(x.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector.Exp(x.As<T, double>()).As<double, T>();
        throw new NotSupportedException();
    }

    /// <summary>
    /// exp over T with float lanes computed inline by <see cref="ExpSingle"/> (no call: the hot kernels are
    /// AggressiveOptimization methods and must not wait for tier-up of a library method); double lanes use the BCL.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> ExpInline<T>(Vector<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return ExpSingle(x.As<T, float>()).As<float, T>();
        return Exp(x);
    }

    /// <summary>
    /// Cephes expf in vector form (about 1 ulp): n = round(x log2 e), r = x - n ln2 (ln2 in two parts), a degree-7
    /// polynomial for exp(r), then 2^n applied in two halves so results down to the denormals are right. x &gt; 88.72
    /// gives +inf, x &lt; -104 gives 0, NaN stays NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> ExpSingle(Vector<float> x)
    {
        Vector<float> xc = Vector.MinNative(Vector.MaxNative(x, new Vector<float>(-104f)), new Vector<float>(89f)); // NaN lanes are fixed at the end
        Vector<float> magic = new(12582912f); // 1.5 * 2^23: adding it rounds to an integer (to nearest even)
        Vector<float> t = Vector.FusedMultiplyAdd(xc, new Vector<float>(1.44269504088896341f), magic);
        Vector<float> z = t - magic;
        Vector<float> r = Vector.FusedMultiplyAdd(z, new Vector<float>(-0.693359375f), xc);
        r = Vector.FusedMultiplyAdd(z, new Vector<float>(2.12194440e-4f), r);
        Vector<float> p = new(1.9875691500E-4f);
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(1.3981999507E-3f));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(8.3334519073E-3f));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(4.1665795894E-2f));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(1.6666665459E-1f));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(5.0000001201E-1f));
        p = Vector.FusedMultiplyAdd(p, r * r, r) + Vector<float>.One;
        Vector<int> n = t.As<float, int>() - magic.As<float, int>();
        Vector<int> n1 = Vector.ShiftRightArithmetic(n, 1);
        Vector<int> n2 = n - n1;
        Vector<int> bias = new(127);
        Vector<float> s1 = Vector.ShiftLeft(n1 + bias, 23).As<int, float>();
        Vector<float> s2 = Vector.ShiftLeft(n2 + bias, 23).As<int, float>();
        Vector<float> res = p * s1 * s2;
        res = Vector.ConditionalSelect(Vector.GreaterThan(x, new Vector<float>(88.72283935546875f)), new Vector<float>(float.PositiveInfinity), res);
        return Vector.ConditionalSelect(Vector.Equals(x, x), res, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Log<T>(Vector<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return Vector.Log(x.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector.Log(x.As<T, double>()).As<double, T>();
        throw new NotSupportedException();
    }

    /// <summary>log(1 + x): u = 1 + x rounded, then log(u) * x / (u - 1) cancels the rounding error of u.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Log1p<T>(Vector<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Vector<T> u = Vector<T>.One + x;
        Vector<T> r = Log(u) * (x / (u - Vector<T>.One));
        r = Vector.ConditionalSelect(Vector.Equals(u, new Vector<T>(T.PositiveInfinity)), u, r);
        return Vector.ConditionalSelect(Vector.Equals(u, Vector<T>.One), x, r);
    }

    /// <summary>exp(x) - 1: a cubic Taylor polynomial for |x| &lt; 1e-5, else (u - 1) * x / log(u) with u = exp(x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Expm1<T>(Vector<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Vector<T> u = Exp(x);
        Vector<T> um1 = u - Vector<T>.One;
        Vector<T> r = um1 * x / Log(u);
        Vector<T> minusOne = new(-T.One);
        r = Vector.ConditionalSelect(Vector.Equals(um1, minusOne), minusOne, r);
        r = Vector.ConditionalSelect(Vector.Equals(u, new Vector<T>(T.PositiveInfinity)), u, r);
        Vector<T> x2 = x * x;
        Vector<T> taylor = x + x2 * new Vector<T>(T.CreateTruncating(0.5)) + x2 * x * new Vector<T>(T.CreateTruncating(1.0 / 6.0));
        return Vector.ConditionalSelect(Vector.LessThan(Vector.Abs(x), new Vector<T>(T.CreateTruncating(1e-5))), taylor, r);
    }

    /// <summary>Scalar twin of <see cref="Expm1{T}(Vector{T})"/> for loop tails.</summary>
    public static T Expm1<T>(T x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => T.CreateTruncating(ScalarMath.Expm1(double.CreateTruncating(x)));

    /// <summary>1 / (1 + exp(-x)) via e = exp(-|x|): 1/(1+e) for x &gt;= 0, e/(1+e) otherwise (no overflow).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Sigmoid<T>(Vector<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Vector<T> e = Exp(-Vector.Abs(x));
        Vector<T> s = Vector<T>.One / (Vector<T>.One + e);
        return Vector.ConditionalSelect(Vector.GreaterThanOrEqual(x, Vector<T>.Zero), s, e * s);
    }

    /// <summary>log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Log1pExp<T>(Vector<T> z) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Vector<T> pos = Vector.ConditionalSelect(Vector.GreaterThan(z, Vector<T>.Zero), z, Vector<T>.Zero);
        return pos + Log1p(Exp(-Vector.Abs(z)));
    }

    private const double TanhP0 = -9.64399179425052238628e-1, TanhP1 = -9.92877231001918586564e1, TanhP2 = -1.61468768441708447952e3;
    private const double TanhQ0 = 1.12811678491632931402e2, TanhQ1 = 2.23548839060100448583e3, TanhQ2 = 4.84406305325125486048e3;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Tanh<T>(Vector<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Vector<T> ax = Vector.Abs(x);
        // |x| >= 0.625: exp overflow gives exactly 1; NaN propagates through exp.
        Vector<T> big = Vector<T>.One - new Vector<T>(T.CreateTruncating(2.0)) / (Exp(ax + ax) + Vector<T>.One);
        big = Vector.ConditionalSelect(Vector.LessThan(x, Vector<T>.Zero), -big, big);
        Vector<T> s = x * x;
        Vector<T> p = (new Vector<T>(T.CreateTruncating(TanhP0)) * s + new Vector<T>(T.CreateTruncating(TanhP1))) * s + new Vector<T>(T.CreateTruncating(TanhP2));
        Vector<T> q = ((s + new Vector<T>(T.CreateTruncating(TanhQ0))) * s + new Vector<T>(T.CreateTruncating(TanhQ1))) * s + new Vector<T>(T.CreateTruncating(TanhQ2));
        Vector<T> small = x + x * s * (p / q);
        return Vector.ConditionalSelect(Vector.LessThan(ax, new Vector<T>(T.CreateTruncating(0.625))), small, big);
    }

    /// <summary>Scalar twin of <see cref="Tanh{T}(Vector{T})"/> for loop tails.</summary>
    public static T Tanh<T>(T x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T ax = T.Abs(x);
        if (ax < T.CreateTruncating(0.625))
        {
            T s = x * x;
            T p = (T.CreateTruncating(TanhP0) * s + T.CreateTruncating(TanhP1)) * s + T.CreateTruncating(TanhP2);
            T q = ((s + T.CreateTruncating(TanhQ0)) * s + T.CreateTruncating(TanhQ1)) * s + T.CreateTruncating(TanhQ2);
            return x + x * s * (p / q);
        }
        T big = T.One - T.CreateTruncating(2.0) / (T.Exp(ax + ax) + T.One);
        return x < T.Zero ? -big : big;
    }
}
