using System.Numerics;
using System.Numerics.Tensors;

namespace NativeGrad.Backends;

/// <summary>
/// Element-wise unary kernels (ng_unary). Ops with an exact <see cref="TensorPrimitives"/> counterpart use it; cheap
/// piecewise ops (relu, clamp, comparisons, ...) run through vectorised operator structs; the transcendental ops
/// TensorPrimitives lacks or gets wrong (erf, expm1, log1p, softplus, gelu, ...) are evaluated in double by
/// <see cref="ScalarMath"/> and split across threads for large inputs.
/// </summary>
internal static unsafe class ManagedUnary
{
    public static void Run<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> y, double alpha, double beta)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (y.Length < x.Length) throw new ArgumentException("The output is shorter than the input.", nameof(y));
        y = y[..x.Length];
        T a = T.CreateTruncating(alpha);
        T b = T.CreateTruncating(beta);
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(x, y); return;
            case UnaryOp.Exp: Chunked(x, y, static (xs, ys) => TensorPrimitives.Exp(xs, ys)); return;
            case UnaryOp.Log: Chunked(x, y, static (xs, ys) => TensorPrimitives.Log(xs, ys)); return;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, y); return;
            case UnaryOp.Rsqrt: TensorPrimitives.ReciprocalSqrt(x, y); return;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, y); return;
            case UnaryOp.Sin: Chunked(x, y, static (xs, ys) => TensorPrimitives.Sin(xs, ys)); return;
            case UnaryOp.Cos: Chunked(x, y, static (xs, ys) => TensorPrimitives.Cos(xs, ys)); return;
            case UnaryOp.Sigmoid: Chunked(x, y, static (xs, ys) => TensorPrimitives.Sigmoid(xs, ys)); return;
            case UnaryOp.Reciprocal: TensorPrimitives.Reciprocal(x, y); return;
            case UnaryOp.Square: TensorPrimitives.Multiply(x, x, y); return;
            case UnaryOp.Relu: Map(new ReluOp<T>(), x, y); return;
            case UnaryOp.Sign: Map(new SignOp<T>(), x, y); return;
            case UnaryOp.Clamp: Map(new ClampOp<T>(a, b), x, y); return;
            case UnaryOp.GtScalar: Map(new GtOp<T>(a), x, y); return;
            case UnaryOp.LtScalar: Map(new LtOp<T>(a), x, y); return;
            case UnaryOp.GeScalar: Map(new GeOp<T>(a), x, y); return;
            case UnaryOp.LeScalar: Map(new LeOp<T>(a), x, y); return;
            case UnaryOp.Affine: Map(new AffineOp<T>(a, b), x, y); return;
            case UnaryOp.LeakyRelu: Map(new LeakyReluOp<T>(a), x, y); return;
            case UnaryOp.PowScalar: PowScalar(x, y, alpha); return;
            case UnaryOp.Tanh: Map(new TanhOp<T>(), x, y); return; // not TensorPrimitives.Tanh: it is off near 0 (tanh(0f) = -6e-8)
            case UnaryOp.Log1p: Map(new Log1pOp<T>(), x, y); return;
            case UnaryOp.Expm1: Map(new Expm1Op<T>(), x, y); return;
            case UnaryOp.Erf: Map(new ViaDouble<T, ErfFn>(alpha, beta), x, y); return;
            case UnaryOp.Softplus: Map(new SoftplusOp<T>(a, b), x, y); return;
            case UnaryOp.Silu: Map(new SiluOp<T>(), x, y); return;
            case UnaryOp.Gelu: Map(new ViaDouble<T, GeluFn>(alpha, beta), x, y); return;
            case UnaryOp.GeluTanh: Map(new GeluTanhOp<T>(), x, y); return;
            case UnaryOp.Elu: Map(new EluOp<T>(a), x, y); return;
            case UnaryOp.LogSigmoid: Map(new LogSigmoidOp<T>(), x, y); return;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown unary op.");
        }
    }

    /// <summary>A span-to-span kernel (a TensorPrimitives call).</summary>
    private delegate void SpanKernel<T>(ReadOnlySpan<T> x, Span<T> y);

    /// <summary>Runs a compute-bound span kernel over fixed-size chunks in parallel when the input is large.</summary>
    private static void Chunked<T>(ReadOnlySpan<T> x, Span<T> y, SpanKernel<T> kernel) where T : unmanaged
    {
        const int Grain = 1 << 15;
        int n = x.Length;
        int threads = ManagedParallel.Threads;
        if (n < 4 * Grain || threads == 1)
        {
            kernel(x, y);
            return;
        }
        fixed (T* px = x)
        fixed (T* py = y) ChunkedParallel(px, py, n, Grain, threads, kernel);
    }

    private static void ChunkedParallel<T>(T* xp, T* yp, int n, int grain, int threads, SpanKernel<T> kernel) where T : unmanaged
    {
        var chunks = new KernelChunks<T>(xp, yp, n, grain, kernel);
        ManagedParallel.For((n + grain - 1) / grain, threads, ref chunks);
    }

    /// <summary>The parallel body of <see cref="Chunked{T}"/>: item ch runs the kernel over elements [ch * grain, (ch + 1) * grain).</summary>
    private readonly struct KernelChunks<T>(T* xp, T* yp, int n, int grain, SpanKernel<T> kernel) : IParallelBody where T : unmanaged
    {
        public void Invoke(long ch)
        {
            int start = (int)ch * grain, len = Math.Min(grain, n - start);
            kernel(new ReadOnlySpan<T>(xp + start, len), new Span<T>(yp + start, len));
        }
    }

    private static void Map<T, TOp>(TOp op, ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, IUnaryOperator<T>
    {
        fixed (T* px = x)
        fixed (T* py = y)
        {
            // Cheap piecewise ops are memory-bound: one thread. Transcendental ones are compute-bound: split.
            if (TOp.Vectorizable && !TOp.Expensive) ElementwiseLoops.Unary(op, px, py, x.Length);
            else ElementwiseLoops.UnaryParallel(op, px, py, x.Length);
        }
    }

    /// <summary>x ^ p with the exponents torch special-cases mapped to exact cheaper forms.</summary>
    private static void PowScalar<T>(ReadOnlySpan<T> x, Span<T> y, double p)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        switch (p)
        {
            case 0.0: y.Fill(T.One); return; // pow(x, 0) = 1 even for NaN x
            case 1.0: x.CopyTo(y); return; // CopyTo is a no-op-safe memmove when y is x
            case 2.0: TensorPrimitives.Multiply(x, x, y); return;
            case 3.0: Map(new CubeOp<T>(), x, y); return;
            case 0.5: TensorPrimitives.Sqrt(x, y); return;
            case -0.5: TensorPrimitives.ReciprocalSqrt(x, y); return;
            case -1.0: TensorPrimitives.Reciprocal(x, y); return;
            case -2.0: Map(new InverseSquareOp<T>(), x, y); return;
            default: Map(new ViaDouble<T, PowFn>(p, 0), x, y); return;
        }
    }

    // ---- vectorised piecewise operators ----------------------------------------------------------------------

    private readonly struct ReluOp<T> : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static bool Expensive => false;
        public T Invoke(T x) => x < T.Zero ? T.Zero : x; // relu(NaN) = NaN
        public Vector<T> Invoke(Vector<T> x) => Vector.ConditionalSelect(Vector.LessThan(x, Vector<T>.Zero), Vector<T>.Zero, x);
    }

    private readonly struct SignOp<T> : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static bool Expensive => false;
        public T Invoke(T x) => x > T.Zero ? T.One : x < T.Zero ? -T.One : T.IsNaN(x) ? x : T.Zero;
        public Vector<T> Invoke(Vector<T> x)
        {
            Vector<T> s = ElementwiseLoops.MaskToOne(Vector.GreaterThan(x, Vector<T>.Zero)) - ElementwiseLoops.MaskToOne(Vector.LessThan(x, Vector<T>.Zero));
            return Vector.ConditionalSelect(Vector.Equals(x, x), s, x);
        }
    }

    /// <summary>min(max(x, lo), hi); a NaN bound never compares true, so it is no bound; NaN x stays NaN.</summary>
    private readonly struct ClampOp<T>(T lo, T hi) : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static bool Expensive => false;
        public T Invoke(T x)
        {
            T r = x < lo ? lo : x;
            return r > hi ? hi : r;
        }
        public Vector<T> Invoke(Vector<T> x)
        {
            Vector<T> vlo = new(lo), vhi = new(hi);
            Vector<T> r = Vector.ConditionalSelect(Vector.LessThan(x, vlo), vlo, x);
            return Vector.ConditionalSelect(Vector.GreaterThan(r, vhi), vhi, r);
        }
    }

    private readonly struct GtOp<T>(T s) : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static bool Expensive => false;
        public T Invoke(T x) => x > s ? T.One : T.Zero;
        public Vector<T> Invoke(Vector<T> x) => ElementwiseLoops.MaskToOne(Vector.GreaterThan(x, new Vector<T>(s)));
    }

    private readonly struct LtOp<T>(T s) : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static bool Expensive => false;
        public T Invoke(T x) => x < s ? T.One : T.Zero;
        public Vector<T> Invoke(Vector<T> x) => ElementwiseLoops.MaskToOne(Vector.LessThan(x, new Vector<T>(s)));
    }

    private readonly struct GeOp<T>(T s) : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static bool Expensive => false;
        public T Invoke(T x) => x >= s ? T.One : T.Zero;
        public Vector<T> Invoke(Vector<T> x) => ElementwiseLoops.MaskToOne(Vector.GreaterThanOrEqual(x, new Vector<T>(s)));
    }

    private readonly struct LeOp<T>(T s) : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static bool Expensive => false;
        public T Invoke(T x) => x <= s ? T.One : T.Zero;
        public Vector<T> Invoke(Vector<T> x) => ElementwiseLoops.MaskToOne(Vector.LessThanOrEqual(x, new Vector<T>(s)));
    }

    /// <summary>alpha * x + beta (two roundings, like the C kernel without contraction).</summary>
    private readonly struct AffineOp<T>(T scale, T shift) : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static bool Expensive => false;
        public T Invoke(T x) => scale * x + shift;
        public Vector<T> Invoke(Vector<T> x) => new Vector<T>(scale) * x + new Vector<T>(shift);
    }

    private readonly struct LeakyReluOp<T>(T slope) : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static bool Expensive => false;
        public T Invoke(T x) => x > T.Zero ? x : slope * x;
        public Vector<T> Invoke(Vector<T> x) => Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<T>.Zero), x, new Vector<T>(slope) * x);
    }

    private readonly struct CubeOp<T> : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static bool Expensive => false;
        public T Invoke(T x) => x * x * x;
        public Vector<T> Invoke(Vector<T> x) => x * x * x;
    }

    private readonly struct InverseSquareOp<T> : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static bool Expensive => false;
        public T Invoke(T x) => T.One / (x * x);
        public Vector<T> Invoke(Vector<T> x) => Vector<T>.One / (x * x);
    }

    // ---- vectorised transcendental operators (VectorMath; loop tails in double through ScalarMath) ----------

    private readonly struct TanhOp<T> : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static bool Expensive => true;
        public T Invoke(T x) => VectorMath.Tanh(x);
        public Vector<T> Invoke(Vector<T> x) => VectorMath.Tanh(x);
    }

    private readonly struct Log1pOp<T> : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static bool Expensive => true;
        public T Invoke(T x) => T.CreateTruncating(ScalarMath.Log1p(double.CreateTruncating(x)));
        public Vector<T> Invoke(Vector<T> x) => VectorMath.Log1p(x);
    }

    private readonly struct Expm1Op<T> : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static bool Expensive => true;
        public T Invoke(T x) => VectorMath.Expm1(x);
        public Vector<T> Invoke(Vector<T> x) => VectorMath.Expm1(x);
    }

    /// <summary>x * alpha &gt; beta ? x : log1p(exp(alpha * x)) / alpha, the log1p(exp) taken stably.</summary>
    private readonly struct SoftplusOp<T>(T alpha, T beta) : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static bool Expensive => true;
        public T Invoke(T x)
        {
            T z = x * alpha;
            return z > beta ? x : T.CreateTruncating(ScalarMath.Log1pExp(double.CreateTruncating(z))) / alpha;
        }
        public Vector<T> Invoke(Vector<T> x)
        {
            Vector<T> z = x * new Vector<T>(alpha);
            Vector<T> r = VectorMath.Log1pExp(z) / new Vector<T>(alpha);
            return Vector.ConditionalSelect(Vector.GreaterThan(z, new Vector<T>(beta)), x, r);
        }
    }

    private readonly struct SiluOp<T> : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static bool Expensive => true;
        public T Invoke(T x) => x * T.CreateTruncating(ScalarMath.Sigmoid(double.CreateTruncating(x)));
        public Vector<T> Invoke(Vector<T> x) => x * VectorMath.Sigmoid(x);
    }

    /// <summary>0.5 x (1 + tanh(u)) evaluated as x * sigmoid(2u) (no cancellation for negative x).</summary>
    private readonly struct GeluTanhOp<T> : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static bool Expensive => true;
        public T Invoke(T x) => T.CreateTruncating(ScalarMath.GeluTanh(double.CreateTruncating(x)));
        public Vector<T> Invoke(Vector<T> x)
        {
            Vector<T> u = new Vector<T>(T.CreateTruncating(2 * 0.79788456080286535588)) * (x + new Vector<T>(T.CreateTruncating(0.044715)) * x * x * x);
            return x * VectorMath.Sigmoid(u);
        }
    }

    private readonly struct EluOp<T>(T alpha) : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static bool Expensive => true;
        public T Invoke(T x) => x > T.Zero ? x : alpha * VectorMath.Expm1(x);
        public Vector<T> Invoke(Vector<T> x) => Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<T>.Zero), x, new Vector<T>(alpha) * VectorMath.Expm1(x));
    }

    /// <summary>log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)).</summary>
    private readonly struct LogSigmoidOp<T> : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static bool Expensive => true;
        public T Invoke(T x) => T.CreateTruncating(ScalarMath.LogSigmoid(double.CreateTruncating(x)));
        public Vector<T> Invoke(Vector<T> x)
            => Vector.ConditionalSelect(Vector.LessThan(x, Vector<T>.Zero), x, Vector<T>.Zero) - VectorMath.Log1p(VectorMath.Exp(-Vector.Abs(x)));
    }

    // ---- scalar transcendental operators, evaluated in double -------------------------------------------------

    /// <summary>A double-precision scalar function f(x; alpha, beta).</summary>
    private interface IDoubleFunction
    {
        static abstract double Invoke(double x, double alpha, double beta);
    }

    /// <summary>Adapts an <see cref="IDoubleFunction"/> to T: widen, evaluate in double, round once.</summary>
    private readonly struct ViaDouble<T, TFn>(double alpha, double beta) : IUnaryOperator<T>
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TFn : struct, IDoubleFunction
    {
        public static bool Vectorizable => false;
        public static bool Expensive => true;
        public T Invoke(T x) => T.CreateTruncating(TFn.Invoke(double.CreateTruncating(x), alpha, beta));
        public Vector<T> Invoke(Vector<T> x) => throw new NotSupportedException();
    }

    private struct ErfFn : IDoubleFunction { public static double Invoke(double x, double a, double b) => ScalarMath.Erf(x); }
    private struct GeluFn : IDoubleFunction { public static double Invoke(double x, double a, double b) => ScalarMath.Gelu(x); }
    private struct PowFn : IDoubleFunction { public static double Invoke(double x, double a, double b) => Math.Pow(x, a); }
}
