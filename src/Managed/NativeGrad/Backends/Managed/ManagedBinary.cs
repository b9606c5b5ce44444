using System.Runtime.CompilerServices;
using System.Numerics;

namespace NativeGrad.Backends;

/// <summary>
/// Element-wise binary kernels with broadcasting (ng_binary). The iteration space is collapsed by
/// <see cref="StridedLoop"/>; each inner row then runs a vectorised loop when both operands are contiguous, or one is
/// contiguous and the other broadcast (scalar or broadcast row), and a scalar strided loop otherwise.
/// </summary>
internal static unsafe class ManagedBinary
{
    /// <summary>Element count from which a binary op is split across threads.</summary>
    private const long ParallelThreshold = 1 << 19;

    public static void Run<T>(BinaryOp op, ReadOnlySpan<long> shape, T* a, ReadOnlySpan<long> aStrides, T* b, ReadOnlySpan<long> bStrides, T* output)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        switch (op)
        {
            case BinaryOp.Add: Run<T, AddOp<T>>(shape, a, aStrides, b, bStrides, output); return;
            case BinaryOp.Sub: Run<T, SubOp<T>>(shape, a, aStrides, b, bStrides, output); return;
            case BinaryOp.Mul: Run<T, MulOp<T>>(shape, a, aStrides, b, bStrides, output); return;
            case BinaryOp.Div: Run<T, DivOp<T>>(shape, a, aStrides, b, bStrides, output); return;
            case BinaryOp.Pow: Run<T, PowOp<T>>(shape, a, aStrides, b, bStrides, output); return;
            case BinaryOp.Maximum: Run<T, MaxOp<T>>(shape, a, aStrides, b, bStrides, output); return;
            case BinaryOp.Minimum: Run<T, MinOp<T>>(shape, a, aStrides, b, bStrides, output); return;
            case BinaryOp.Eq: Run<T, EqOp<T>>(shape, a, aStrides, b, bStrides, output); return;
            case BinaryOp.Gt: Run<T, GtOp<T>>(shape, a, aStrides, b, bStrides, output); return;
            case BinaryOp.Lt: Run<T, LtOp<T>>(shape, a, aStrides, b, bStrides, output); return;
            case BinaryOp.Ge: Run<T, GeOp<T>>(shape, a, aStrides, b, bStrides, output); return;
            case BinaryOp.Le: Run<T, LeOp<T>>(shape, a, aStrides, b, bStrides, output); return;
            case BinaryOp.BceWithLogits: Run<T, BceWithLogitsOp<T>>(shape, a, aStrides, b, bStrides, output); return;
            case BinaryOp.SigmoidSub: Run<T, SigmoidSubOp<T>>(shape, a, aStrides, b, bStrides, output); return;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown binary op.");
        }
    }

    private static void Run<T, TOp>(ReadOnlySpan<long> shape, T* a, ReadOnlySpan<long> aStrides, T* b, ReadOnlySpan<long> bStrides, T* output)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, IBinaryOperator<T>
    {
        int ndim = shape.Length;
        Span<long> outStrides = stackalloc long[Math.Max(ndim, 1)];
        long stride = 1;
        for (int d = ndim - 1; d >= 0; d--)
        {
            outStrides[d] = stride;
            stride *= shape[d];
        }
        long threshold = TOp.Vectorizable ? ParallelThreshold : ElementwiseLoops.ParallelGrain * 2;
        StridedLoop.ForEachRow(new BinaryRow<T, TOp>(a, b, output), shape, aStrides, bStrides, outStrides[..ndim], threshold);
    }

    private readonly struct BinaryRow<T, TOp>(T* a, T* b, T* o) : IStridedRow
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, IBinaryOperator<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Row(long off0, long off1, long off2, long length, long s0, long s1, long s2)
            => ElementwiseLoops.Row<T, TOp>(a + off0, s0, b + off1, s1, o + off2, length); // s2 is 1: the output is contiguous
    }

    /// <summary>
    /// The element-wise BCE-with-logits loss in the native kernels' association: (1 - y) x for x &gt;= 0, -(y x) for
    /// x &lt; 0 (no cancelling terms for targets in [0, 1]), plus log1p(e^-|x|). Vectors compute in T (as the native
    /// f32 kernel, within a few ulp), single elements in double.
    /// </summary>
    private readonly struct BceWithLogitsOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static T Invoke(T a, T b)
        {
            double x = double.CreateTruncating(a), y = double.CreateTruncating(b);
            return T.CreateTruncating((x >= 0 ? (1.0 - y) * x : -(y * x)) + ScalarMath.Log1p(Math.Exp(-Math.Abs(x))));
        }
        public static Vector<T> Invoke(Vector<T> x, Vector<T> y)
        {
            Vector<T> linear = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(x, Vector<T>.Zero), (Vector<T>.One - y) * x, -(y * x));
            return linear + VectorMath.Log1p(VectorMath.ExpInline(-Vector.Abs(x)));
        }
    }

    /// <summary>sigmoid(x) - y; vectors in T, single elements in double.</summary>
    private readonly struct SigmoidSubOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static T Invoke(T a, T b) => T.CreateTruncating(ScalarMath.Sigmoid(double.CreateTruncating(a)) - double.CreateTruncating(b));
        public static Vector<T> Invoke(Vector<T> x, Vector<T> y) => VectorMath.Sigmoid(x) - y;
    }

    private readonly struct AddOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static T Invoke(T a, T b) => a + b;
        public static Vector<T> Invoke(Vector<T> a, Vector<T> b) => a + b;
    }

    private readonly struct SubOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static T Invoke(T a, T b) => a - b;
        public static Vector<T> Invoke(Vector<T> a, Vector<T> b) => a - b;
    }

    private readonly struct MulOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static T Invoke(T a, T b) => a * b;
        public static Vector<T> Invoke(Vector<T> a, Vector<T> b) => a * b;
    }

    private readonly struct DivOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static T Invoke(T a, T b) => a / b;
        public static Vector<T> Invoke(Vector<T> a, Vector<T> b) => a / b;
    }

    /// <summary>pow through <see cref="Math.Pow"/> (float widened to double and rounded once).</summary>
    private readonly struct PowOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => false;
        public static T Invoke(T a, T b) => T.CreateTruncating(Math.Pow(double.CreateTruncating(a), double.CreateTruncating(b)));
        public static Vector<T> Invoke(Vector<T> a, Vector<T> b) => throw new NotSupportedException();
    }

    private readonly struct MaxOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static T Invoke(T a, T b) => ElementwiseLoops.Maximum(a, b);
        public static Vector<T> Invoke(Vector<T> a, Vector<T> b) => ElementwiseLoops.Maximum(a, b);
    }

    private readonly struct MinOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static T Invoke(T a, T b) => ElementwiseLoops.Minimum(a, b);
        public static Vector<T> Invoke(Vector<T> a, Vector<T> b) => ElementwiseLoops.Minimum(a, b);
    }

    private readonly struct EqOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static T Invoke(T a, T b) => a == b ? T.One : T.Zero;
        public static Vector<T> Invoke(Vector<T> a, Vector<T> b) => ElementwiseLoops.MaskToOne(Vector.Equals(a, b));
    }

    private readonly struct GtOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static T Invoke(T a, T b) => a > b ? T.One : T.Zero;
        public static Vector<T> Invoke(Vector<T> a, Vector<T> b) => ElementwiseLoops.MaskToOne(Vector.GreaterThan(a, b));
    }

    private readonly struct LtOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static T Invoke(T a, T b) => a < b ? T.One : T.Zero;
        public static Vector<T> Invoke(Vector<T> a, Vector<T> b) => ElementwiseLoops.MaskToOne(Vector.LessThan(a, b));
    }

    private readonly struct GeOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static T Invoke(T a, T b) => a >= b ? T.One : T.Zero;
        public static Vector<T> Invoke(Vector<T> a, Vector<T> b) => ElementwiseLoops.MaskToOne(Vector.GreaterThanOrEqual(a, b));
    }

    private readonly struct LeOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool Vectorizable => true;
        public static T Invoke(T a, T b) => a <= b ? T.One : T.Zero;
        public static Vector<T> Invoke(Vector<T> a, Vector<T> b) => ElementwiseLoops.MaskToOne(Vector.LessThanOrEqual(a, b));
    }
}
