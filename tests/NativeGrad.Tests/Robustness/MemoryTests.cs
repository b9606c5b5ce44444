using System.Runtime.CompilerServices;
using NativeGrad.NN;
using Xunit;

namespace NativeGrad.Tests.Robustness;

/// <summary>
/// Tests that read the process-wide memory counters run alone: xunit runs a collection with parallelization
/// disabled after the parallel ones, one test at a time, so no other test allocates meanwhile.
/// </summary>
[CollectionDefinition("Memory", DisableParallelization = true)]
public sealed class MemoryCollection;

[Collection("Memory")]
public class MemoryTests
{
    /// <summary>Live counters once every unreachable tensor of earlier tests has been finalized.</summary>
    private static (long Bytes, long Buffers) SettledBaseline()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        return (Diagnostics.LiveBytes, Diagnostics.LiveBuffers);
    }

    /// <summary>A few training steps of a small MLP, forward and backward, with a manual SGD update.</summary>
    private static void TrainingSteps(Tensor w1, Tensor b1, Tensor w2, Tensor b2, Generator gen, int steps)
    {
        for (int step = 0; step < steps; step++)
        {
            var x = Tensor.Randn([8, 4], w1.DType, gen);
            var target = Tensor.FromArray(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 });
            var hidden = Functional.Linear(x, w1, b1).Relu();
            var loss = Functional.CrossEntropy(Functional.Linear(hidden, w2, b2), target);
            loss.Backward();
            using (Autograd.Autograd.NoGrad())
            {
                foreach (var p in new[] { w1, b1, w2, b2 })
                {
                    p.SubInPlace(p.Grad!, alpha: 0.1);
                    p.ZeroGrad();
                }
            }
        }
    }

    private static Tensor[] Parameters(Generator gen) =>
    [
        Tensor.Randn([16, 4], DType.Float32, gen, requiresGrad: true),
        Tensor.Zeros([16], DType.Float32, requiresGrad: true),
        Tensor.Randn([3, 16], DType.Float32, gen, requiresGrad: true),
        Tensor.Zeros([3], DType.Float32, requiresGrad: true),
    ];

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void LiveBytesReturnToTheBaselineWhenAScopeEnds(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var baseline = SettledBaseline();
        using (Tensor.Scope())
        {
            var p = Parameters(new Generator(1));
            TrainingSteps(p[0], p[1], p[2], p[3], new Generator(2), steps: 5);
            var views = p[0].T.Reshape(4, 16).Narrow(1, 2, 3);
            Assert.True(Diagnostics.LiveBytes > baseline.Bytes);
            Assert.True(views.NumElements > 0);
        }
        Assert.Equal(baseline.Bytes, Diagnostics.LiveBytes);
        Assert.Equal(baseline.Buffers, Diagnostics.LiveBuffers);
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void LiveBytesReturnToTheBaselineWhenTensorsAreDisposed(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var baseline = SettledBaseline();
        var x = Tensor.Randn(64, 64);
        var view = x.T;                 // shares x's storage
        var y = x.MatMul(view).Exp();
        x.Dispose();
        Assert.True(Diagnostics.LiveBuffers > baseline.Buffers, "the view still holds x's storage");
        view.Dispose();
        y.Dispose();
        y.Dispose();                    // twice: harmless, counted once
        // MatMul's result was a temporary nobody can reach any more: only the GC knows it.
        var settled = SettledBaseline();
        Assert.Equal(baseline.Bytes, settled.Bytes);
        Assert.Equal(baseline.Buffers, settled.Buffers);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long CreateAndDropWithoutDispose(int count)
    {
        long elements = 0;
        for (int i = 0; i < count; i++)
        {
            var a = Tensor.Randn(32, 32);
            var b = (a * 2 + 1).Sum(0);
            elements += b.NumElements;
        }
        return elements;
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void TheGcReclaimsTensorsNobodyDisposed(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var baseline = SettledBaseline();
        Assert.Equal(1000 * 32, CreateAndDropWithoutDispose(1000));
        var settled = SettledBaseline();
        Assert.Equal(baseline.Bytes, settled.Bytes);
        Assert.Equal(baseline.Buffers, settled.Buffers);
    }

    [Fact]
    public void PooledStorageObjectsAreRenewedAfterACollectionSoForgottenTensorsStayYoung()
    {
        // A pooled storage object that survived a collection is promoted; were it handed to a tensor nobody
        // disposes, only a full collection would find it (a no-Dispose soak grew to 7 GB that way). When the program
        // is seen forgetting tensors, the pool gives such an object's buffer a new object within 64 rents of the
        // collection. (A program that disposes everything keeps its objects: TensorRecyclingTests' training step.)
        ForgetATensor();
        var t = Tensor.Zeros(16);
        var before = t.Storage;
        t.Dispose();
        GC.Collect();
        GC.WaitForPendingFinalizers(); // the finalizer finds the forgotten tensor's storage
        Assert.True(NativeGrad.Storage.StoragePool.ForgottenRecently);
        Assert.NotEqual(0, GC.GetGeneration(before));
        Tensor? u = null;
        for (int i = 0; i < 200; i++)
        {
            u?.Dispose();
            u = Tensor.Zeros(16);
        }
        Assert.NotSame(before, u!.Storage);
        Assert.Equal(0, GC.GetGeneration(u.Storage));
        Assert.All(u.ToArray<float>(), v => Assert.Equal(0f, v));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ForgetATensor() => Tensor.Zeros(16);

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void ABackwardPassAllocatesNothingOnceWarm(BackendKind backend)
    {
        // Also without Runtime.RecycleTensors (the default). The tensors a pass creates are the engine's (the leaves'
        // .Grad excepted, and once those exist later passes add into them): disposed at the end of the pass, their
        // objects reused by the next.
        using var _ = Backends.Use(backend);
        var gen = new Generator(4);
        var x = Tensor.Randn([8, 4], DType.Float32, gen);
        var target = Tensor.FromArray(new long[] { 0, 1, 2, 3, 0, 1, 2, 3 });
        var p = Parameters(gen);
        var w3 = Tensor.Randn([4, 3], DType.Float32, gen, requiresGrad: true);
        var h = Functional.Linear(x, p[0], p[1]).Relu();
        var logits = Functional.Linear(Functional.Linear(h, p[2], p[3]), w3);
        var loss = Functional.CrossEntropy(logits, target);
        for (int i = 0; i < 50; i++) loss.Backward(retainGraph: true);
        SettledBaseline();
        for (int i = 0; i < 3; i++) GC.Collect(); // (collections that find no forgotten tensor keep the spares)
        for (int i = 0; i < 10; i++) loss.Backward(retainGraph: true);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++) loss.Backward(retainGraph: true);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(12, w3.Grad!.NumElements);
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void TheLiveBytesOfAPassAreItsLeavesGradsOnly(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var gen = new Generator(9);
        var x = Tensor.Randn([16, 8], DType.Float64, gen);
        var w = Tensor.Randn([4, 8], DType.Float64, gen, requiresGrad: true);
        var b = Tensor.Zeros([4], DType.Float64, requiresGrad: true);
        var loss = Functional.Linear(x, w, b).Tanh().Sum();
        long before = Diagnostics.LiveBytes;
        loss.Backward();                 // no scope: the temporaries would have waited for the GC
        long grads = (w.NumElements + b.NumElements) * sizeof(double);
        long live = Diagnostics.LiveBytes - before;
        Assert.True(live >= grads && live <= grads + 256, $"{live} bytes still live after backward; the leaves' grads take {grads}");
    }

    [Fact]
    public void RepeatedScopesReuseThePoolInsteadOfGrowingIt()
    {
        var baseline = SettledBaseline();
        long pooledAfterWarmup = 0;
        for (int i = 0; i < 200; i++)
        {
            using (Tensor.Scope())
            {
                var t = Tensor.Randn(100, 100);
                (t.MatMul(t) + 1).Relu().Sum().Item();
            }
            if (i == 10) pooledAfterWarmup = Diagnostics.PooledBytes;
        }
        Assert.Equal(baseline.Bytes, Diagnostics.LiveBytes);
        Assert.Equal(pooledAfterWarmup, Diagnostics.PooledBytes);
    }

    [Fact]
    public void TrimPoolHandsEveryPooledBufferToTheGc()
    {
        using (Tensor.Scope()) Tensor.Randn(256, 256).Exp();
        Assert.True(Diagnostics.PooledBuffers > 0);
        Diagnostics.TrimPool();
        Assert.Equal(0, Diagnostics.PooledBuffers);
        Assert.Equal(0, Diagnostics.PooledBytes);
    }

    [Fact]
    public void ForgottenTensorsAreCollectedEvenWhenLittleElseIsAllocated()
    {
        // 1 GB of 1 MB tensors nobody disposes, and almost no other allocation: the GC's own schedule (driven by
        // small objects) would not collect at all here (measured: live bytes peaked 631 MB above the baseline); the
        // pool makes a gen0 collection per 32 MB a thread rents beyond what came back, whose finalizers return the
        // buffers. (How soon they run depends on the finalizer thread's share of the cores, so the count of
        // collections is what is asserted, and that everything comes back.)
        var baseline = SettledBaseline();
        int before = GC.CollectionCount(0);
        for (int i = 0; i < 1024; i++) Tensor.Zeros([1 << 18], DType.Float32); // 1 MB, dropped
        Assert.True(GC.CollectionCount(0) - before >= 1024 / 32 / 2, $"{GC.CollectionCount(0) - before} gen0 collections for 1 GB of dropped tensors");
        var settled = SettledBaseline();
        Assert.Equal(baseline.Bytes, settled.Bytes);
    }
}
