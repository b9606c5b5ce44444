using System.Diagnostics;
using NativeGrad.NN;
using Xunit;

namespace NativeGrad.Tests.Robustness;

/// <summary>Misuse that must end in a managed exception, never in a crash or a silent read of freed memory.</summary>
public class DisposalTests
{
    /// <summary>Every public way of using a tensor: each must refuse a disposed one.</summary>
    public static TheoryData<string> Uses => new(UseCases.Keys);

    private static readonly Dictionary<string, Action<Tensor>> UseCases = new()
    {
        ["Exp"] = t => t.Exp(),
        ["Neg"] = t => t.Neg(),
        ["Add"] = t => t.Add(Tensor.Ones(3)),
        ["AddScalar"] = t => t.Add(1.0),
        ["AddedTo"] = t => Tensor.Ones(3).Add(t),
        ["Mul"] = t => _ = t * t,
        ["Pow"] = t => t.Pow(2.0),
        ["Clamp"] = t => t.Clamp(0, 1),
        ["Sum"] = t => t.Sum(),
        ["SumDim"] = t => t.Sum(0),
        ["Mean"] = t => t.Mean(),
        ["Amax"] = t => t.Amax(),
        ["MatMul"] = t => t.MatMul(Tensor.Ones(3, 2)),
        ["Softmax"] = t => Functional.Softmax(t, -1),
        ["Reshape"] = t => t.Reshape(3, 1),
        ["View"] = t => t.View(1, 3),
        ["Transpose"] = t => t.Unsqueeze(0).Transpose(0, 1),
        ["Narrow"] = t => t.Narrow(0, 0, 2),
        ["Select"] = t => t.Select(0, 1),
        ["Expand"] = t => t.Expand(2, 3),
        ["Contiguous"] = t => t.Unsqueeze(1).Expand(3, 2).Contiguous(),
        ["Clone"] = t => t.Clone(),
        ["To"] = t => t.To(DType.Float64),
        ["Detach"] = t => t.Detach(),
        ["IndexSelect"] = t => t.IndexSelect(0, Tensor.FromArray(new long[] { 0, 2 })),
        ["Cat"] = t => Tensor.Cat([t, t]),
        ["ToArray"] = t => t.ToArray<float>(),
        ["ToDoubleArray"] = t => t.ToDoubleArray(),
        ["Item"] = t => t.Sum().Item(),
        ["AsSpan"] = t => t.AsSpan<float>().ToArray(),
        ["AddInPlace"] = t => t.AddInPlace(1.0),
        ["Fill"] = t => t.Fill(2.0),
        ["CopyFrom"] = t => t.CopyFrom(Tensor.Ones(3)),
        ["RequiresGrad"] = t => t.RequiresGrad_(),
        ["Backward"] = t => t.Sum().Backward(),
        ["Linear"] = t => Functional.Linear(t.Unsqueeze(0), Tensor.Ones(2, 3)),
        ["MseLoss"] = t => Functional.MseLoss(t, Tensor.Ones(3)),
    };

    [Theory]
    [MemberData(nameof(Uses))]
    public void UsingADisposedTensorThrowsObjectDisposedException(string use)
    {
        foreach (var backend in new[] { BackendKind.Native, BackendKind.Managed })
        {
            using var _ = Backends.Use(backend);
            var t = Tensor.FromArray([1f, 2f, 3f]);
            t.Dispose();
            Assert.True(t.IsDisposed);
            Assert.Throws<ObjectDisposedException>(() => UseCases[use](t));
        }
    }

    [Fact]
    public void ADisposedTensorStillPrints()
    {
        var t = Tensor.Ones(2);
        t.Dispose();
        Assert.Equal("tensor(<disposed>)", t.ToString()); // debuggers and loggers call ToString: it must not throw
    }

    [Fact]
    public void DisposingTwiceIsHarmless()
    {
        var t = Tensor.Ones(5);
        var keep = Tensor.Ones(5);
        t.Dispose();
        t.Dispose();
        // the storage was released once: keep's buffer (possibly t's old one, reused) is intact
        var u = Tensor.Zeros(5);
        Assert.All(keep.ToArray<float>(), v => Assert.Equal(1f, v));
        Assert.All(u.ToArray<float>(), v => Assert.Equal(0f, v));
        // Released exactly once (a global buffer count would race with the tests running in parallel): t's storage
        // has no holder left, or it was reused by u and has exactly u's reference.
        Assert.Equal(ReferenceEquals(t.Storage, u.Storage) ? 1 : 0, t.Storage.Holders);
        Assert.Equal(1, keep.Storage.Holders);
    }

    [Fact]
    public void AReusedStorageCannotBeRetainedThroughAnEarlierRental()
    {
        var t = Tensor.Ones(5);
        var storage = t.Storage;
        int generation = storage.Generation;
        t.Dispose();
        var u = Tensor.Zeros(5); // this thread's cache hands t's storage straight back
        Assert.Same(storage, u.Storage);
        Assert.NotEqual(generation, storage.Generation);
        // a holder from t's rental (e.g. an in-place write racing with t.Dispose on another thread) is refused
        Assert.False(storage.TryRetain(generation));
        Assert.Throws<ObjectDisposedException>(() => storage.Hold(generation));
        Assert.Throws<ObjectDisposedException>(() => t.Reshape(5));
        Assert.Equal(1, storage.Holders);
        Assert.All(u.ToArray<float>(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void AViewOutlivesItsDisposedBase()
    {
        var baseTensor = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        var view = baseTensor.T.Narrow(0, 1, 2);    // [[2, 5], [3, 6]]
        baseTensor.Dispose();
        Assert.Throws<ObjectDisposedException>(() => baseTensor.Sum());
        // the buffer is not recycled while the view holds it: new tensors get other memory
        var others = Enumerable.Range(0, 20).Select(_ => Tensor.Full([2, 3], -1.0)).ToList();
        Assert.Equal(new[] { 2f, 5f, 3f, 6f }, view.Contiguous().ToArray<float>());
        Assert.Equal(16.0, view.Sum().Item());
        view.Dispose();
        Assert.Throws<ObjectDisposedException>(() => view.Sum());
        foreach (var o in others) Assert.All(o.ToArray<float>(), v => Assert.Equal(-1f, v));
    }

    [Fact]
    public void ASavedTensorOutlivesTheDisposedInputItWasSavedFrom()
    {
        var x = Tensor.FromArray([1f, 2f, 3f]).RequiresGrad_();
        var y = x.Exp();                 // saves exp(x)
        var loss = (y * y).Sum();        // saves y twice
        y.Dispose();
        loss.Backward();
        Assert.Equal(new[] { 2 * MathF.Exp(2), 2 * MathF.Exp(4), 2 * MathF.Exp(6) }, x.Grad!.ToArray<float>(), new ToleranceComparer(1e-4f));
    }

    [Fact]
    public void ASavedTensorDetachedOrDisposedAfterSavingStillCarriesItsGraph()
    {
        // z = y * y saves y (the result of x * x). Detaching y afterwards must not cut x out of the saved graph:
        // backward formulas then get an alias with y's identity at save time, also through a second order.
        var x = Tensor.FromArray([0.5, 1.5]).RequiresGrad_();
        var y = x * x;
        var z = y * y;
        y.Detach_();
        var g = NativeGrad.Autograd.Autograd.Grad([z.Sum()], [x], createGraph: true)[0]!;
        Assert.Equal([4 * 0.125, 4 * 3.375], g.ToArray<double>());                  // 4 x^3
        var gg = NativeGrad.Autograd.Autograd.Grad([g.Sum()], [x])[0]!;
        Assert.Equal([12 * 0.25, 12 * 2.25], gg.ToArray<double>());                 // 12 x^2

        var x2 = Tensor.FromArray([0.5, 1.5]).RequiresGrad_();
        var y2 = x2 * x2;
        var z2 = y2 * y2;
        y2.Dispose();
        var g2 = NativeGrad.Autograd.Autograd.Grad([z2.Sum()], [x2], createGraph: true)[0]!;
        Assert.Equal([4 * 0.125, 4 * 3.375], g2.ToArray<double>());
        Assert.Equal([12 * 0.25, 12 * 2.25], NativeGrad.Autograd.Autograd.Grad([g2.Sum()], [x2])[0]!.ToArray<double>());
    }

    private sealed class ToleranceComparer(float rtol) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= rtol * Math.Max(Math.Abs(a), Math.Abs(b));
        public int GetHashCode(float v) => 0;
    }

    [Fact]
    public void ShapesWhoseElementCountOverflowsALongThrowBeforeAllocating()
    {
        var watch = Stopwatch.StartNew();
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(1L << 40, 1L << 40));
        Assert.Throws<ArgumentException>(() => Tensor.Ones(long.MaxValue, 2));
        Assert.Throws<ArgumentException>(() => Tensor.Randn(1L << 32, 1L << 32));
        Assert.Throws<ArgumentException>(() => Tensor.Full([3037000500, 3037000500], 1.0));
        Assert.Throws<ArgumentException>(() => Tensor.Zeros([1L << 62], DType.Float64));  // 2^62 elements * 8 bytes
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(-1));
        Assert.Throws<ArgumentException>(() => Tensor.Ones(3).Reshape(1L << 40, 1L << 40));
        Assert.Throws<ArgumentException>(() => Tensor.Ones(3).Expand(1L << 40, 1L << 40, 3));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact]
    public void TensorsLargerThanAnArrayThrowOutOfMemoryBeforeAllocating()
    {
        var watch = Stopwatch.StartNew();
        long before = Diagnostics.LiveBytes;
        Assert.Throws<OutOfMemoryException>(() => Tensor.Zeros(1L << 36));
        Assert.Throws<OutOfMemoryException>(() => Tensor.Randn(1L << 31));
        Assert.Throws<OutOfMemoryException>(() => Tensor.Zeros((1L << 61) - 1));   // bytes + alignment once wrapped to a tiny array
        Assert.Throws<OutOfMemoryException>(() => Tensor.Zeros([(1L << 60) - 1], DType.Float64));
        Assert.Throws<OutOfMemoryException>(() => Tensor.Ones(1L << 20).Expand(1L << 20, 1L << 20).Contiguous());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        Assert.True(Diagnostics.LiveBytes - before < 64L << 20, "nothing large was allocated");
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void HugeViewsFailCleanlyWhenAnOpNeedsTheirData(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var huge = Tensor.Ones(1).Expand(1L << 40);     // a view: no memory needed
        Assert.Equal(1L << 40, huge.NumElements);
        var e = Record.Exception(() => huge.Exp());
        Assert.True(e is OutOfMemoryException or ArgumentException, $"{e?.GetType()}: {e?.Message}");
    }
}
