using System.Text;
using CsCheck;
using NativeGrad.NN;
using Xunit;
using Xunit.Abstractions;

namespace NativeGrad.Tests.Robustness;

/// <summary>
/// Random op programs through the public API (CsCheck generates them, and shrinks a failing one to a minimal
/// program). Shapes, dims, dtypes, indices and parameters are small but often invalid. Every step runs on the
/// native and on the managed backend with the same inputs; each call must either succeed on both, with the same
/// shape, dtype and (within rounding) values, or throw one of the documented managed exceptions on both:
/// the <see cref="ArgumentException"/> family, <see cref="IndexOutOfRangeException"/>,
/// <see cref="InvalidOperationException"/> (and <see cref="ObjectDisposedException"/>), or
/// <see cref="OutOfMemoryException"/> for a tensor larger than a .NET array. Nothing else, and never a crash.
/// </summary>
public class ManagedFuzzTests(ITestOutputHelper output)
{
    private long _programs, _steps, _failedSteps;

    public enum Op
    {
        Create, Unary, Binary, Reduce, Reshape, Transpose, Narrow, Expand, MatMul, IndexSelect, Softmax, Cat, Cast,
        Loss, Conv, InPlace, Dispose, Backward,
    }

    public sealed record Step(Op Kind, int A, int B, int P1, int P2, long[] Shape, int DType)
    {
        public override string ToString() => $"{Kind}(a={A}, b={B}, p1={P1}, p2={P2}, shape={Shapes.Format(Shape)}, dtype={DType})";
    }

    private static readonly Gen<long> DimGen = Gen.Frequency(
        (40, Gen.Long[0, 4]), (3, Gen.Long[-3, -1]), (1, Gen.OneOf(1L << 40, long.MaxValue, 3037000500L, 1L << 31, 100_000L)));

    private static readonly Gen<Step> StepGen = Gen.Select(
        Gen.Select(Gen.Enum<Op>(), Gen.Int[0, 9], Gen.Int[0, 9], Gen.Int[-4, 5], Gen.Int[-3, 12], (k, a, b, p1, p2) => (k, a, b, p1, p2)),
        DimGen.Array[0, 4], Gen.Int[0, 3],
        (s, shape, dtype) => new Step(s.k, s.a, s.b, s.p1, s.p2, shape, dtype));

    private static readonly Gen<Step[]> ProgramGen = StepGen.Array[1, 12];

    private static readonly DType[] DTypes = [DType.Float32, DType.Float64, DType.Int64, DType.Float32];

    [Fact]
    public void RandomProgramsSucceedAlikeOnBothBackendsOrThrowDocumentedExceptions()
    {
        Assert.True(Runtime.NativeAvailable, Runtime.NativeLoadFailure);
        // At most 3000 programs or 10 s (CsCheck samples on every core), whichever comes first.
        ProgramGen.Sample(RunProgram, iter: 3000, time: 10, print: p => string.Join("\n", p.Select(s => s.ToString())));
        output.WriteLine($"{_programs} programs, {_steps} steps on both backends, {_failedSteps} of them threw documented exceptions");
        Assert.True(_programs >= 1000, $"only {_programs} programs ran");
    }

    private void RunProgram(Step[] program)
    {
        Interlocked.Increment(ref _programs);
        using var scope = Tensor.Scope();
        var gen = new Generator(7);
        var pool = new List<Tensor>
        {
            Tensor.Randn([2, 3], DType.Float32, gen),
            Tensor.Randn([3], DType.Float64, gen),
            Tensor.FromArray(new long[] { 0, 1, 2 }),
            Tensor.FromArray([float.NaN, 1f, float.NegativeInfinity, -0f, 2f, 3f], 1, 1, 2, 3),
        };
        for (int i = 0; i < program.Length; i++)
        {
            var step = program[i];
            var a = pool[step.A % pool.Count];
            var b = pool[step.B % pool.Count];
            if (step.Kind is Op.InPlace or Op.Dispose or Op.Backward)
            {
                // State changes: once, on the native backend.
                using (Runtime.UseBackend(BackendKind.Native)) Outcome(() => Mutate(step, a, b), step, i);
                continue;
            }
            Tensor? native, managed;
            string? nativeError, managedError;
            using (Runtime.UseBackend(BackendKind.Native)) (native, nativeError) = Outcome(() => Apply(step, a, b), step, i);
            using (Runtime.UseBackend(BackendKind.Managed)) (managed, managedError) = Outcome(() => Apply(step, a, b), step, i);
            if (nativeError != managedError)
                Assert.Fail($"step {i} {step}: native {(native is null ? nativeError : "succeeded")}, managed {(managed is null ? managedError : "succeeded")}");
            Interlocked.Increment(ref _steps);
            if (native is null || managed is null) { Interlocked.Increment(ref _failedSteps); continue; }
            bool single = a.DType == DType.Float32 || b.DType == DType.Float32 || native.DType == DType.Float32;
            // A convolution sums C_in·kh·kw products per element, in a different order on each backend: float32 rounding
            // differences grow with the square root of that count (a 100000-channel case differed by 1.8e-4).
            long terms = step.Kind == Op.Conv && (step.P2 & 1) == 0 && b.Dim > 0 && b.Shape[0] > 0 ? b.NumElements / b.Shape[0] : 1;
            AssertSameResult(native, managed, single, $"step {i} {step}", terms);
            CheckShape(step, a, b, native);
            pool.Add(native);
        }
    }

    /// <summary>Runs a call: its result, or the name of the documented exception it threw.</summary>
    private static (Tensor? Result, string? Error) Outcome(Func<Tensor?> call, Step step, int index)
    {
        try
        {
            var result = call();
            if (result is not null && !result.IsDisposed)
            {
                Assert.Equal(result.NumElements, result.Shape.ToArray().Aggregate(1L, (p, d) => p * d));
                if (result.NumElements <= 1 << 16) Assert.Equal(result.NumElements, result.ToDoubleArray().LongLength);
            }
            return (result, null);
        }
        catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or InvalidOperationException)
        {
            return (null, e is ObjectDisposedException ? "disposed" : "error");
        }
        catch (OutOfMemoryException e) when (e.Message.Contains("larger than a single .NET array"))
        {
            return (null, "error");
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            Assert.Fail($"step {index} {step} threw an undocumented {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            return (null, null);
        }
    }

    private static readonly Func<Tensor, Step, Tensor>[] UnaryOps =
    [
        (t, _) => t.Neg(), (t, _) => t.Exp(), (t, _) => t.Log(), (t, _) => t.Sqrt(), (t, _) => t.Rsqrt(), (t, _) => t.Abs(),
        (t, _) => t.Sin(), (t, _) => t.Cos(), (t, _) => t.Tanh(), (t, _) => t.Sigmoid(), (t, _) => t.Relu(), (t, _) => t.Sign(),
        (t, _) => t.Erf(), (t, _) => t.Log1p(), (t, _) => t.Expm1(), (t, _) => t.Reciprocal(), (t, _) => t.Square(),
        (t, s) => t.Pow(s.P1 / 2.0), (t, s) => t.Clamp(s.P1, s.P2), (t, s) => t.Clamp(null, s.P1), (t, _) => t.Silu(),
        (t, _) => t.Gelu(), (t, _) => t.Gelu("tanh"), (t, s) => t.Softplus(s.P2 == 0 ? 1 : s.P2, s.P1), (t, s) => t.LeakyRelu(s.P1 / 10.0),
        (t, s) => t.Elu(s.P2 / 4.0), (t, _) => t.Contiguous(), (t, _) => t.Clone(), (t, s) => t.Gelu(s.P1 > 0 ? "bogus" : "none"),
    ];

    private static readonly Func<Tensor, Tensor, Step, Tensor>[] BinaryOps =
    [
        (a, b, _) => a + b, (a, b, _) => a - b, (a, b, _) => a * b, (a, b, _) => a / b, (a, b, _) => a.Pow(b),
        (a, b, _) => a.Maximum(b), (a, b, _) => a.Minimum(b), (a, b, s) => a.Add(b, s.P1), (a, _, s) => a * s.P1,
        (a, _, s) => s.P2 / a, (a, _, s) => a - s.P1,
    ];

    private static Tensor? Apply(Step s, Tensor a, Tensor b)
    {
        var dtype = DTypes[s.DType];
        long[] dims = Array.ConvertAll(s.Shape, d => d % 6 - 2); // small, often negative or out of range
        switch (s.Kind)
        {
            case Op.Create:
                return (s.P1 & 7) switch
                {
                    0 => Tensor.Zeros(s.Shape, dtype),
                    1 => Tensor.Ones(s.Shape, dtype),
                    2 => Tensor.Randn(s.Shape, dtype, new Generator((ulong)s.P2)),
                    3 => Tensor.Full(s.Shape, s.P2 == 0 ? double.NaN : s.P2, dtype),
                    4 => Tensor.FromArray(Enumerable.Range(0, Math.Abs(s.P2)).Select(v => (double)v).ToArray(), s.Shape),
                    5 => Tensor.FromArray(Enumerable.Range(0, Math.Abs(s.P2)).Select(v => (long)v - 2).ToArray()),
                    6 => Tensor.Rand(s.Shape, dtype, new Generator(3)),
                    _ => Tensor.Scalar(s.P1 == 7 ? double.PositiveInfinity : s.P2, dtype),
                };
            case Op.Unary: return UnaryOps[(s.P2 + 3 + s.B * 13) % UnaryOps.Length](a, s);
            case Op.Binary: return BinaryOps[(s.P2 + 3) % BinaryOps.Length](a, b, s);
            case Op.Reduce:
                bool keep = (s.B & 1) == 1;
                return ((s.P2 + 3) % 11) switch
                {
                    0 => a.Sum(),
                    1 => a.Sum(s.P1, keep),
                    2 => a.Mean(dims, keep),
                    3 => a.Amax(dims, keep),
                    4 => a.Prod(s.P1, keep),
                    5 => a.Var(dims, s.B % 3, keep),
                    6 => a.Std(null, 1.0, keep),
                    7 => a.LogSumExp(dims, keep),
                    8 => a.Norm(s.P1, dims.Length == 0 ? null : dims, keep),
                    9 => a.Mean(),
                    _ => a.Sum(dims, keep),
                };
            case Op.Reshape: return (s.P1 & 1) == 0 ? a.Reshape(dims.Length == 0 ? s.Shape : dims) : a.View(s.Shape);
            case Op.Transpose:
                return ((s.P2 + 3) % 7) switch
                {
                    0 => a.Transpose(s.P1, s.B % 5 - 2),
                    1 => a.Permute(dims),
                    2 => a.Unsqueeze(s.P1),
                    3 => a.Squeeze(s.P1),
                    4 => a.Squeeze(),
                    5 => a.Flatten(s.P1, s.B % 4 - 2),
                    _ => a.T,
                };
            case Op.Narrow:
                return ((s.P2 + 3) % 3) switch
                {
                    0 => a.Narrow(s.P1, s.B % 4 - 1, s.P2 % 4),
                    1 => a.Select(s.P1, s.P2 - 1),
                    _ => a[dims],
                };
            case Op.Expand: return a.Expand(s.Shape.Length == 0 ? dims : s.Shape);
            case Op.MatMul:
                return ((s.P2 + 3) % 5) switch
                {
                    0 => a.MatMul(b),
                    1 => a.Mm(b),
                    2 => a.Mv(b),
                    3 => a.Dot(b),
                    _ => a.Bmm(b),
                };
            case Op.IndexSelect:
                return a.IndexSelect(s.P1, Tensor.FromArray(s.Shape.Select(v => v % 7 - 1).ToArray(), s.Shape.Length == 0 ? [] : [s.Shape.Length]));
            case Op.Softmax: return (s.P2 & 1) == 0 ? Functional.Softmax(a, s.P1) : Functional.LogSoftmax(a, s.P1);
            case Op.Cat: return (s.P2 & 1) == 0 ? Tensor.Cat([a, b], s.P1) : Tensor.Stack([a, b, a], s.P1);
            case Op.Cast: return a.To(dtype);
            case Op.Loss:
                return ((s.P2 + 3) % 7) switch
                {
                    0 => Functional.CrossEntropy(a, b),
                    1 => Functional.MseLoss(a, b),
                    2 => Functional.Linear(a, b),
                    3 => Functional.Embedding(b, a),
                    4 => Functional.LayerNorm(a, dims.Length == 0 ? s.Shape : dims),
                    5 => Functional.NllLoss(a, b, ignoreIndex: s.P1),
                    _ => Functional.BinaryCrossEntropyWithLogits(a, b),
                };
            case Op.Conv:
                return (s.P2 & 1) == 0
                    ? Functional.Conv2d(a, b, null, (s.P1 + 5, s.B % 3), (s.P2 % 3, s.P1))
                    : Functional.MaxPool2d(a, (s.P1 + 2, s.B % 3 + 1), ((s.P2 + 4) % 3, 1));
            default: throw new InvalidOperationException($"not a pure op: {s.Kind}");
        }
    }

    private static Tensor? Mutate(Step s, Tensor a, Tensor b)
    {
        switch (s.Kind)
        {
            case Op.InPlace:
                var before = a.Shape.ToArray();
                var result = ((s.P2 + 3) % 7) switch
                {
                    0 => a.AddInPlace(b),
                    1 => a.MulInPlace(s.P1),
                    2 => a.Fill(s.P2),
                    3 => a.Zero(),
                    4 => a.ClampInPlace(s.P1, s.P2),
                    5 => a.CopyFrom(b),
                    _ => a.ReluInPlace(),
                };
                Assert.Equal(before, result.Shape.ToArray());
                return null;
            case Op.Dispose:
                a.Dispose();
                return null;
            default:
                if ((s.P2 & 1) == 0) a.RequiresGrad_();
                var y = (s.P1 & 1) == 0 ? (a * a).Sum() : a.Exp();
                y.Backward();
                if (a.Grad is { } g) Assert.Equal(a.Shape.ToArray(), g.Shape.ToArray());
                return null;
        }
    }

    private static void CheckShape(Step s, Tensor a, Tensor b, Tensor result)
    {
        long[]? expected = s.Kind switch
        {
            Op.Unary => a.Shape.ToArray(),
            Op.Binary when (s.P2 + 3) % BinaryOps.Length < 8 => Shapes.Broadcast(a.Shape, b.Shape, "check"),
            Op.Binary => a.Shape.ToArray(),
            Op.Softmax => a.Shape.ToArray(),
            Op.Cast => a.Shape.ToArray(),
            Op.Reshape when (s.P1 & 1) == 1 && !s.Shape.Contains(-1) => s.Shape,
            _ => null,
        };
        if (expected is not null) Assert.Equal(expected, result.Shape.ToArray());
        if (s.Kind == Op.Reduce && (s.P2 + 3) % 11 is 0 or 9) Assert.Equal(0, result.Dim);
    }

    /// <param name="single">Some of the computation ran in float32 (inputs of mixed dtypes are promoted late).</param>
    /// <param name="terms">How many products each element sums (float32 tolerance grows with its square root past 10^4).</param>
    private static void AssertSameResult(Tensor native, Tensor managed, bool single, string what, long terms = 1)
    {
        Assert.True(Shapes.SameShape(native.Shape, managed.Shape), $"{what}: shapes {Shapes.Format(native.Shape)} vs {Shapes.Format(managed.Shape)}");
        Assert.Equal(native.DType, managed.DType);
        if (native.NumElements > 1 << 16) return;
        var x = native.ToDoubleArray();
        var y = managed.ToDoubleArray();
        double tol = native.DType == DType.Int64 ? 0 : single ? 1e-4 * Math.Max(1, Math.Sqrt(terms) / 100) : 1e-10;
        for (int i = 0; i < x.Length; i++)
        {
            double p = x[i], q = y[i];
            if (p.Equals(q) || (double.IsNaN(p) && double.IsNaN(q))) continue;
            if (!double.IsInfinity(p) && !double.IsInfinity(q) && Math.Abs(p - q) <= tol * Math.Max(1, Math.Max(Math.Abs(p), Math.Abs(q)))) continue;
            Assert.Fail($"{what}: element {i}: native {p}, managed {q}");
        }
    }
}
