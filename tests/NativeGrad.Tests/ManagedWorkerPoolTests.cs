using System.Runtime.CompilerServices;
using NativeGrad.Backends;
using NativeGrad.NN;
using Xunit;

namespace NativeGrad.Tests;

/// <summary>
/// <see cref="ManagedParallel.For{TBody}(long, int, ref TBody)"/> on the persistent <see cref="ManagedWorkerPool"/>:
/// every item runs exactly once, long jobs really share out, nested and concurrent calls run inline and complete,
/// a body's exception reaches the caller and leaves the pool usable, and a call allocates nothing once warm (nor
/// does a managed-backend training step at two threads). The pool is process-wide and some tests change
/// <see cref="Runtime.Threads"/>, so these run in the ThreadCount collection, alone.
/// </summary>
[Collection("ThreadCount")]
public sealed unsafe class ManagedWorkerPoolTests
{
    private const string WorkerName = "NativeGrad managed worker";

    /// <summary>Long enough for a broken pool that deadlocks to fail the test instead of hanging the run.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private static void WithThreads(int threads, Action body)
    {
        int before = Runtime.Threads;
        Runtime.Threads = threads;
        try { body(); }
        finally { Runtime.Threads = before; }
    }

    /// <summary>Runs <paramref name="body"/> on a thread of its own and fails if it does not finish in time.</summary>
    private static void WithinDeadline(Action body)
    {
        var task = Task.Factory.StartNew(body, TaskCreationOptions.LongRunning);
        Assert.True(task.Wait(Deadline), "the parallel loop did not complete (deadlock?)");
    }

    private static void AssertEachOnce(int[] runs, string context = "")
    {
        for (int i = 0; i < runs.Length; i++)
            if (runs[i] != 1) Assert.Fail($"{context}item {i} ran {runs[i]} times");
    }

    /// <summary>Counts the runs of each item.</summary>
    private readonly struct CountRuns(int* runs) : IParallelBody
    {
        public void Invoke(long item) => Interlocked.Increment(ref runs[item]);
    }

    /// <summary>Counts the runs of each item, records the thread that ran it and sleeps a millisecond (so every
    /// thread of a job gets items even on a loaded machine).</summary>
    private readonly struct SlowItems(int* runs, int* thread) : IParallelBody
    {
        public void Invoke(long item)
        {
            Interlocked.Increment(ref runs[item]);
            thread[item] = Environment.CurrentManagedThreadId;
            Thread.Sleep(1);
        }
    }

    /// <summary>Runs a slow job of <paramref name="count"/> items at <paramref name="threads"/>; returns the
    /// distinct threads that ran items (each item checked to run once).</summary>
    private static int[] SlowJob(int count, int threads)
    {
        var runs = new int[count];
        var thread = new int[count];
        fixed (int* r = runs)
        fixed (int* t = thread)
        {
            var body = new SlowItems(r, t);
            ManagedParallel.For(count, threads, ref body);
        }
        AssertEachOnce(runs);
        return thread.Distinct().ToArray();
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    [InlineData(1000, 2)]
    [InlineData(100000, 2)]
    [InlineData(2, 4)]
    [InlineData(3, 4)]
    [InlineData(1000, 4)]
    [InlineData(100000, 4)]
    public void EveryItemRunsExactlyOnce(int count, int threads)
    {
        var runs = new int[count];
        for (int rep = 0; rep < 50; rep++)
        {
            Array.Clear(runs);
            fixed (int* r = runs)
            {
                var body = new CountRuns(r);
                ManagedParallel.For(count, threads, ref body);
            }
            AssertEachOnce(runs, $"repetition {rep}: ");
        }
    }

    [Fact]
    public void ALongJobRunsOnTheCallerAndAPoolWorkerAtTwoThreads()
    {
        int caller = Environment.CurrentManagedThreadId;
        int[] threads = SlowJob(200, 2);
        Assert.Equal(2, threads.Length);
        Assert.Contains(caller, threads);

        // The other thread is one of the pool's persistent workers: the next job finds the same one.
        Assert.Equal(threads.Order(), SlowJob(200, 2).Order());
    }

    /// <summary>Records the name and background flag of a thread other than the caller's that ran an item.</summary>
    private readonly struct NameWorkers(int caller, string?[] name, bool[] background) : IParallelBody
    {
        public void Invoke(long item)
        {
            if (Environment.CurrentManagedThreadId != caller)
            {
                name[0] = Thread.CurrentThread.Name;
                background[0] = Thread.CurrentThread.IsBackground;
            }
            Thread.Sleep(1);
        }
    }

    [Fact]
    public void TheWorkersAreNamedBackgroundThreads()
    {
        var name = new string?[1];
        var background = new bool[1];
        var body = new NameWorkers(Environment.CurrentManagedThreadId, name, background);
        ManagedParallel.For(200, 2, ref body);
        Assert.Equal(WorkerName, name[0]);
        Assert.True(background[0]);
    }

    [Fact]
    public void EachCallUsesAtMostItsThreadCountAndWorkersComeBackWhenItGrows()
    {
        // 4 then 2 then 4: the workers beyond the team of the call at 2 stay out of it (and park), and are woken
        // again by the next call at 4.
        Assert.InRange(SlowJob(400, 4).Length, 2, 4);
        for (int i = 0; i < 3; i++) Assert.InRange(SlowJob(200, 2).Length, 1, 2);
        Thread.Sleep(50); // every worker parks
        Assert.InRange(SlowJob(100, 2).Length, 1, 2);
        // Back-to-back short calls at 2 keep worker 0 spinning, so the call at 4 finds no parked team member to wake:
        // only the surplus rule brings workers 1 and 2 back.
        var runs = new int[1000];
        fixed (int* r = runs)
        {
            var body = new CountRuns(r);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (clock.ElapsedMilliseconds < 20) ManagedParallel.For(runs.Length, 2, ref body);
        }
        Assert.True(SlowJob(400, 4).Length > 2, "the workers beyond the previous call's team did not come back");
    }

    /// <summary>An outer item that runs a nested loop and checks it ran inline, on the outer item's thread.</summary>
    private readonly struct Nested(int* outerRuns, int* innerRuns, int inner, int* strays) : IParallelBody
    {
        public void Invoke(long item)
        {
            Interlocked.Increment(ref outerRuns[item]);
            var body = new RecordInner(innerRuns + item * inner, Environment.CurrentManagedThreadId, strays);
            ManagedParallel.For(inner, 2, ref body);
            Thread.Sleep(1);
        }
    }

    private readonly struct RecordInner(int* runs, int thread, int* strays) : IParallelBody
    {
        public void Invoke(long item)
        {
            Interlocked.Increment(ref runs[item]);
            if (Environment.CurrentManagedThreadId != thread) Interlocked.Increment(ref *strays);
        }
    }

    [Fact]
    public void ANestedCallFromInsideABodyRunsInlineOnThatBodysThread()
    {
        const int outer = 64, inner = 100;
        var outerRuns = new int[outer];
        var innerRuns = new int[outer * inner];
        var strays = new int[1];
        WithinDeadline(() =>
        {
            fixed (int* o = outerRuns)
            fixed (int* i = innerRuns)
            fixed (int* s = strays)
            {
                var body = new Nested(o, i, inner, s);
                ManagedParallel.For(outer, 2, ref body);
            }
        });
        AssertEachOnce(outerRuns, "outer ");
        AssertEachOnce(innerRuns, "inner ");
        Assert.Equal(0, strays[0]);
        // And the pool is free again afterwards.
        Assert.Equal(2, SlowJob(200, 2).Length);
    }

    /// <summary>Counts the runs of each item and those run by a thread that is neither the caller nor a pool worker.</summary>
    private readonly struct CountAndCheckThread(int* runs, int caller, int* strays) : IParallelBody
    {
        public void Invoke(long item)
        {
            Interlocked.Increment(ref runs[item]);
            if (Environment.CurrentManagedThreadId != caller && Thread.CurrentThread.Name != WorkerName) Interlocked.Increment(ref *strays);
        }
    }

    [Fact]
    public void ConcurrentCallsFromSeveralThreadsAllComplete()
    {
        const int users = 4, calls = 300, count = 1000;
        var failures = new string?[users];
        var strays = new int[users];
        WithinDeadline(() =>
        {
            var threads = new Thread[users];
            for (int u = 0; u < users; u++)
            {
                int user = u;
                threads[u] = new Thread(() =>
                {
                    var runs = new int[count];
                    for (int c = 0; c < calls && failures[user] is null; c++)
                    {
                        Array.Clear(runs);
                        fixed (int* r = runs)
                        fixed (int* s = &strays[user])
                        {
                            var body = new CountAndCheckThread(r, Environment.CurrentManagedThreadId, s);
                            ManagedParallel.For(count, 2 + user % 2, ref body);
                        }
                        int bad = Array.FindIndex(runs, n => n != 1);
                        if (bad >= 0) failures[user] = $"user {user}, call {c}: item {bad} ran {runs[bad]} times";
                    }
                });
                threads[u].Start();
            }
            foreach (var t in threads) t.Join();
        });
        Assert.All(failures, f => Assert.Null(f));
        Assert.All(strays, s => Assert.Equal(0, s));
        Assert.Equal(2, SlowJob(200, 2).Length);
    }

    /// <summary>Throws from the first item that runs on a pool worker (or on the caller), after a short sleep so the
    /// worker takes part.</summary>
    private readonly struct ThrowOn(bool onWorker, int* thrown) : IParallelBody
    {
        [MethodImpl(MethodImplOptions.NoInlining)] // a frame of its own in the stack trace
        public void Invoke(long item)
        {
            Thread.Sleep(1);
            bool worker = Thread.CurrentThread.Name == WorkerName;
            if (worker == onWorker && Interlocked.Exchange(ref *thrown, 1) == 0)
                throw new InvalidOperationException($"item {item} failed on {(worker ? "a worker" : "the caller")}");
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ABodysExceptionReachesTheCallerAndThePoolStaysUsable(bool onWorker)
    {
        for (int rep = 0; rep < 3; rep++)
        {
            var thrown = new int[1];
            InvalidOperationException e;
            fixed (int* pt = thrown)
            {
                int* t = pt;
                e = Assert.Throws<InvalidOperationException>(() =>
                {
                    var body = new ThrowOn(onWorker, t);
                    ManagedParallel.For(200, 2, ref body);
                });
            }
            Assert.EndsWith(onWorker ? "on a worker" : "on the caller", e.Message);
            Assert.Contains(nameof(ThrowOn), e.StackTrace); // the original stack trace, not the rethrow's
            Assert.Equal(2, SlowJob(200, 2).Length);
        }
    }

    /// <summary>Records, by managed thread id, the bytes allocated so far by each thread that runs an item (and
    /// sleeps a millisecond, so every thread of the job gets items).</summary>
    private readonly struct ProbeAllocations(long[] bytes) : IParallelBody
    {
        public void Invoke(long item)
        {
            int id = Environment.CurrentManagedThreadId;
            if (id < bytes.Length) bytes[id] = GC.GetAllocatedBytesForCurrentThread();
            Thread.Sleep(1);
        }
    }

    private static long[] ProbeWorkers()
    {
        var bytes = new long[1 << 14];
        Array.Fill(bytes, -1); // -1: this thread ran no item of the probe
        var probe = new ProbeAllocations(bytes);
        ManagedParallel.For(64, 2, ref probe);
        return bytes;
    }

    /// <summary>Waits (up to a second) for a moment in which no thread of the process allocates.</summary>
    private static void Quiesce()
    {
        for (int i = 0; i < 100; i++)
        {
            long before = GC.GetTotalAllocatedBytes(true);
            Thread.Sleep(10);
            if (GC.GetTotalAllocatedBytes(true) == before) return;
        }
    }

    /// <summary>
    /// Asserts that <paramref name="measure"/> (<paramref name="units"/> calls or steps) allocates nothing: 0 bytes on
    /// the calling thread and 0 bytes on each pool worker that took part (read on the worker itself, by a probe job
    /// before and after). With <paramref name="wholeProcess"/>, also less than a byte per unit in the whole process
    /// (GC.GetTotalAllocatedBytes, best of up to three windows). Only for short windows: the test host's own threads
    /// allocate in the background (0.5-2 KB/s measured with nothing else running, and bursts of far more).
    /// </summary>
    private static void AssertAllocatesNothing(int units, bool wholeProcess, Action measure)
    {
        int caller = Environment.CurrentManagedThreadId;
        long[] workersBefore = ProbeWorkers();
        long mine = 0, total = long.MaxValue;
        for (int attempt = 0; attempt < (wholeProcess ? 3 : 1) && total >= units; attempt++)
        {
            if (wholeProcess) Quiesce();
            long all = GC.GetTotalAllocatedBytes(true);
            long own = GC.GetAllocatedBytesForCurrentThread();
            measure();
            mine += GC.GetAllocatedBytesForCurrentThread() - own;
            total = Math.Min(total, GC.GetTotalAllocatedBytes(true) - all);
        }
        long[] workersAfter = ProbeWorkers();
        Assert.Equal(0, mine);
        int workers = 0;
        for (int id = 0; id < workersBefore.Length; id++)
        {
            if (id == caller || workersBefore[id] < 0 || workersAfter[id] < 0) continue;
            workers++;
            Assert.True(workersAfter[id] == workersBefore[id], $"worker thread {id} allocated {workersAfter[id] - workersBefore[id]} bytes");
        }
        Assert.True(workers > 0, "no pool worker took part in both probes");
        if (wholeProcess) Assert.True(total < units, $"{total} bytes allocated in {units} units ({(double)total / units:F2} per unit)");
    }

    /// <summary>A trivial body that counts the items run by threads other than the caller.</summary>
    private readonly struct Tiny(float* x, int caller, long* others) : IParallelBody
    {
        public void Invoke(long item)
        {
            x[item] += 1;
            if (Environment.CurrentManagedThreadId != caller) Interlocked.Increment(ref *others);
        }
    }

    [Fact]
    public void ACallAllocatesNothingOnceWarmOnAnyThread()
    {
        const int calls = 10_000;
        var x = new float[256];
        long others = 0;
        fixed (float* px = x)
        {
            float* p = px;
            long* o = &others;
            void Calls(int n)
            {
                var body = new Tiny(p, Environment.CurrentManagedThreadId, o);
                for (int i = 0; i < n; i++) ManagedParallel.For(256, 2, ref body);
            }
            Calls(1000);
            AssertAllocatesNothing(calls, wholeProcess: true, () => Calls(calls));
        }
        Assert.True(others > 0, "no item ran on a worker: the calls did not go parallel");
        Assert.All(x, v => Assert.Equal(x[0], v));
    }

    [Fact]
    public void WakingParkedWorkersAllocatesNothing()
    {
        const int calls = 100;
        var x = new float[256];
        long others = 0;
        fixed (float* px = x)
        {
            float* p = px;
            long* o = &others;
            void Calls(int n)
            {
                var body = new Tiny(p, Environment.CurrentManagedThreadId, o);
                for (int i = 0; i < n; i++)
                {
                    Thread.Sleep(3); // the worker spins about a millisecond, then parks: each call wakes it
                    ManagedParallel.For(256, 2, ref body);
                }
            }
            Calls(10);
            AssertAllocatesNothing(calls, wholeProcess: false, () => Calls(calls));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BatchedGemmAllocatesNothingOnceWarm(bool sharedB)
    {
        // 64 products of 64 x 64 x 64: each too small to split, together enough to run one product per item. Their
        // packing buffers (and the packed shared B) come from the array pool on whichever thread runs the item.
        const int b = 64, n = 64, calls = 500;
        var backend = ManagedBackend.Instance;
        var a = new float[b * n * n];
        var x = new float[b * n * n];
        var c = new float[b * n * n];
        var rng = new Random(3);
        for (int i = 0; i < a.Length; i++) { a[i] = (float)rng.NextDouble(); x[i] = (float)rng.NextDouble(); }
        long strideB = sharedB ? 0 : n * n;
        WithThreads(2, () =>
        {
            fixed (float* pa = a)
            fixed (float* px = x)
            fixed (float* pc = c)
            {
                float* p = pa, q = px, r = pc;
                void Calls(int count)
                {
                    for (int i = 0; i < count; i++)
                        backend.Gemm(DType.Float32, false, false, n, n, n, 1, p, n, n * n, q, n, strideB, 0, r, n, n * n, b);
                }
                Calls(1000);
                AssertAllocatesNothing(calls, wholeProcess: false, () => Calls(calls));
            }
        });
    }

    [Fact]
    public void AManagedTrainingStepAtTwoThreadsAllocatesNothingOnceWarm()
    {
        // W5's step (784-512-256-10, batch 128: the products, the softmax and the reductions go parallel) on the
        // managed backend at 2 threads with recycling on: 0 bytes on the caller and on the workers.
        bool recycle = Runtime.RecycleTensors;
        Runtime.RecycleTensors = true;
        try
        {
            WithThreads(2, () =>
            {
                using var _ = Backends.Use(BackendKind.Managed);
                var gen = new Generator(7);
                var x = Tensor.Randn([128, 784], DType.Float32, gen);
                var target = Tensor.FromArray(new long[128]);
                int[] sizes = [784, 512, 256, 10];
                var p = new Tensor[6];
                for (int l = 0; l < 3; l++)
                {
                    p[2 * l] = (Tensor.Randn([sizes[l + 1], sizes[l]], DType.Float32, gen) * 0.05).RequiresGrad_();
                    p[2 * l + 1] = Tensor.Zeros([sizes[l + 1]], DType.Float32, requiresGrad: true);
                }
                var sgd = new NativeGrad.Optim.SGD(p, lr: 0.01);
                void Step()
                {
                    using var scope = Tensor.Scope();
                    var h1 = Functional.Linear(x, p[0], p[1]).Relu();
                    var h2 = Functional.Linear(h1, p[2], p[3]).Relu();
                    var loss = Functional.CrossEntropy(Functional.Linear(h2, p[4], p[5]), target);
                    loss.Backward();
                    sgd.Step();
                    sgd.ZeroGrad();
                }
                for (int i = 0; i < 30; i++) Step();
                for (int i = 0; i < 4; i++) { GC.Collect(); GC.WaitForPendingFinalizers(); }
                for (int i = 0; i < 10; i++) Step();

                const int steps = 40;
                AssertAllocatesNothing(steps, wholeProcess: false, () =>
                {
                    for (int i = 0; i < steps; i++) Step();
                });
            });
        }
        finally
        {
            Runtime.RecycleTensors = recycle;
        }
    }
}
