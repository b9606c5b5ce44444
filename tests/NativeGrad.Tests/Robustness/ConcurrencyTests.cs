using NativeGrad.NN;
using Xunit;

namespace NativeGrad.Tests.Robustness;

/// <summary>Many managed threads against one native thread pool, and Dispose racing with use.</summary>
public class ConcurrencyTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60); // generous: a deadlock never finishes

    private static void RunThreads(int count, Action<int> body)
    {
        Exception? failure = null;
        var threads = Enumerable.Range(0, count).Select(i => new Thread(() =>
        {
            try { body(i); }
            catch (Exception e) { Interlocked.CompareExchange(ref failure, e, null); }
        }) { IsBackground = true }).ToArray();
        foreach (var t in threads) t.Start();
        var until = DateTime.UtcNow + Deadline;
        foreach (var t in threads)
        {
            var left = until - DateTime.UtcNow;
            Assert.True(t.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero), "a thread did not finish: deadlock?");
        }
        Assert.Null(failure);
    }

    /// <summary>Work large enough for the native pool's parallel paths (GEMM >= 64^3, long reductions, softmax).</summary>
    private static double[] ParallelWork(int seed)
    {
        using var scope = Tensor.Scope();
        var gen = new Generator((ulong)seed);
        var a = Tensor.Randn([96, 128], DType.Float32, gen);
        var b = Tensor.Randn([128, 80], DType.Float32, gen);
        var c = a.MatMul(b);
        var big = Tensor.Randn([300_000], DType.Float32, gen);
        return
        [
            c.Sum().Item(),
            Functional.Softmax(c, 1).Amax().Item(),
            big.Exp().Sum().Item(),
            (big * big).Mean().Item(),
            c.T.Contiguous().Sum(1).Sum().Item(),
        ];
    }

    [Fact]
    public void TheNativePoolServesManyManagedThreadsAtOnceWithIdenticalResults()
    {
        using var _ = Backends.Use(BackendKind.Native);
        var expected = Enumerable.Range(0, 4).Select(ParallelWork).ToArray();
        var results = new double[12][][];
        RunThreads(12, i =>
        {
            using var __ = Runtime.UseBackend(BackendKind.Native);
            results[i] = Enumerable.Range(0, 4).Select(ParallelWork).ToArray();
        });
        foreach (var r in results) Assert.Equal(expected, r); // bitwise: results never depend on who runs them
    }

    /// <summary>A tiny classifier trained with its own generator: the final parameters and losses.</summary>
    private static double[] TrainTinyModel(int seed, int steps)
    {
        using var scope = Tensor.Scope();
        var gen = new Generator((ulong)(1000 + seed));
        var w1 = Tensor.Randn([12, 6], DType.Float32, gen, requiresGrad: true);
        var b1 = Tensor.Zeros([12], DType.Float32, requiresGrad: true);
        var w2 = Tensor.Randn([3, 12], DType.Float32, gen, requiresGrad: true);
        var b2 = Tensor.Zeros([3], DType.Float32, requiresGrad: true);
        var losses = new List<double>();
        for (int step = 0; step < steps; step++)
        {
            var x = Tensor.Randn([16, 6], DType.Float32, gen);
            var xs = x.ToArray<float>();
            var target = Tensor.FromArray(Enumerable.Range(0, 16)
                .Select(r => (long)((xs.AsSpan(r * 6, 6).ToArray().Sum() > 0 ? 1 : 0) + (xs[r * 6] > 1 ? 1 : 0))).ToArray());
            var logits = Functional.Linear(Functional.Linear(x, w1, b1).Tanh(), w2, b2);
            var loss = Functional.CrossEntropy(logits, target);
            loss.Backward();
            losses.Add(loss.Item());
            using (Autograd.Autograd.NoGrad())
                foreach (var p in new[] { w1, b1, w2, b2 })
                {
                    p.SubInPlace(p.Grad!, alpha: 0.2);
                    p.ZeroGrad();
                }
        }
        return [.. losses, .. w1.ToDoubleArray(), .. b1.ToDoubleArray(), .. w2.ToDoubleArray(), .. b2.ToDoubleArray()];
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void SixteenThreadsTrainingIndependentModelsMatchASingleThreadedRun(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        const int Models = 16, Steps = 30;
        var expected = Enumerable.Range(0, Models).Select(i => TrainTinyModel(i, Steps)).ToArray();
        var results = new double[Models][];
        RunThreads(Models, i =>
        {
            using var __ = Runtime.UseBackend(backend);
            results[i] = TrainTinyModel(i, Steps);
        });
        for (int i = 0; i < Models; i++) Assert.Equal(expected[i], results[i]);
        Assert.True(expected[0][Steps - 1] < expected[0][0], "the model learned something");
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void DisposeRacingWithUseThrowsObjectDisposedExceptionOrSucceeds(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        int disposedSeen = 0, succeeded = 0;
        for (int round = 0; round < 200; round++)
        {
            var shared = Tensor.Randn(64, 64);
            var view = shared.T;
            var start = new Barrier(3);
            Exception? unexpected = null;
            void Use(Tensor t)
            {
                start.SignalAndWait();
                for (int i = 0; i < 20; i++)
                {
                    try
                    {
                        using var scope = Tensor.Scope();
                        var r = (t.MatMul(t).Exp() + 1).Sum().Item();
                        t.AddInPlace(0.0);
                        Interlocked.Increment(ref succeeded);
                    }
                    catch (ObjectDisposedException) { Interlocked.Increment(ref disposedSeen); }
                    catch (Exception e) { Interlocked.CompareExchange(ref unexpected, e, null); }
                }
            }
            var user = new Thread(() => Use(shared));
            var viewUser = new Thread(() => Use(view));
            user.Start();
            viewUser.Start();
            start.SignalAndWait();
            Thread.SpinWait(round * 50);
            shared.Dispose();
            if (round % 2 == 0) view.Dispose();
            shared.Dispose();
            Assert.True(user.Join(Deadline) && viewUser.Join(Deadline));
            Assert.Null(unexpected);
        }
        Assert.True(disposedSeen > 0 && succeeded > 0, $"both outcomes happened ({disposedSeen} disposed, {succeeded} ok)");
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void UndisposedOperandsSurviveGarbageCollectionsDuringKernels(BackendKind backend)
    {
        // Temporaries nobody references once their pointer was read: a GC in the middle of the kernel (here forced
        // by another thread) must not take their memory away, so the results stay exact.
        using var _ = Backends.Use(backend);
        var expected = Enumerable.Range(0, 8).Select(ChainOfTemporaries).ToArray();
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() => { while (!stop.IsCancellationRequested) { GC.Collect(); Thread.Sleep(1); } });
        collector.Start();
        try
        {
            var results = new double[4][];
            RunThreads(4, t =>
            {
                using var __ = Runtime.UseBackend(backend);
                results[t] = Enumerable.Range(0, 8).Select(ChainOfTemporaries).ToArray();
            });
            foreach (var r in results) Assert.Equal(expected, r);
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
    }

    private static double ChainOfTemporaries(int seed)
    {
        double total = 0;
        var gen = new Generator((ulong)seed);
        for (int i = 0; i < 30; i++)
            total += Tensor.Randn([200, 200], DType.Float64, gen).MatMul(Tensor.Randn([200, 50], DType.Float64, gen)).Tanh().Sum().Item();
        return total;
    }
}
