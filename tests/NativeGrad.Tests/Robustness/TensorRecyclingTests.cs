using NativeGrad.NN;
using Xunit;

namespace NativeGrad.Tests.Robustness;

/// <summary>
/// Runtime.RecycleTensors: disposed tensors' objects become the next results on their thread, except objects the
/// graph, a scope or an optimizer can still reach. The setting is process-wide, so these run in the "Memory"
/// collection, alone.
/// </summary>
[Collection("Memory")]
public class TensorRecyclingTests
{
    /// <summary>Turns recycling on for the test's duration and drops this thread's spares afterwards.</summary>
    private sealed class Recycling : IDisposable
    {
        private readonly bool _before = Runtime.RecycleTensors;
        public Recycling() => Runtime.RecycleTensors = true;
        public void Dispose() => Runtime.RecycleTensors = _before;
    }

    private static Tensor Vec(params float[] values) => Tensor.FromArray(values);

    [Fact]
    public void OffByDefault_DisposedTensorsStayDisposed()
    {
        Assert.False(Runtime.RecycleTensors);
        var a = Vec(1, 2);
        var c = a + a;
        c.Dispose();
        var d = a * a;
        Assert.NotSame(c, d);
        Assert.Throws<ObjectDisposedException>(() => c.ToArray<float>());
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void ADisposedResultBecomesTheNextResult(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        using var on = new Recycling();
        var a = Vec(1, 2, 3);
        var b = Vec(10, 20, 30);
        var c = a + b;
        c.Dispose();
        var d = a * b;
        Assert.Same(c, d);
        Assert.False(d.IsDisposed);
        Assert.Equal(new[] { 10f, 40f, 90f }, d.ToArray<float>());
        var v = d.Reshape(3, 1); // views reuse objects too
        Assert.Equal([3L, 1L], v.Shape.ToArray());
        Assert.Equal(new[] { 10f, 40f, 90f }, v.ToArray<float>());
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void TinyOpsAllocateNothingOnceWarm(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        using var on = new Recycling();
        var a = Tensor.Randn([16], DType.Float32, new Generator(1));
        var b = Tensor.Randn([16], DType.Float32, new Generator(2));
        for (int i = 0; i < 100; i++) { using var c = a + b; }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) { using var c = a + b; }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void ATrainingStepAllocatesNothingOnceWarm(BackendKind backend)
    {
        // W5's step at a small size: linear-relu-linear-relu-linear, cross_entropy, backward, SGD, in a scope. Tensors,
        // nodes, gradient arrays, shape arrays and the scope all come back: 0 managed bytes per step, collections or not.
        using var _ = Backends.Use(backend);
        using var on = new Recycling();
        var gen = new Generator(4);
        var x = Tensor.Randn([8, 12], DType.Float32, gen);
        var target = Tensor.FromArray(new long[] { 0, 1, 2, 3, 0, 1, 2, 3 });
        Tensor[] p =
        [
            Tensor.Randn([10, 12], DType.Float32, gen, requiresGrad: true), Tensor.Zeros([10], DType.Float32, requiresGrad: true),
            Tensor.Randn([6, 10], DType.Float32, gen, requiresGrad: true), Tensor.Zeros([6], DType.Float32, requiresGrad: true),
            Tensor.Randn([4, 6], DType.Float32, gen, requiresGrad: true), Tensor.Zeros([4], DType.Float32, requiresGrad: true),
        ];
        var sgd = new NativeGrad.Optim.SGD(p, lr: 0.01);
        long[] bytes = new long[5];
        void Step(bool count)
        {
            long t0 = GC.GetAllocatedBytesForCurrentThread();
            using var scope = Tensor.Scope();
            var h1 = Functional.Linear(x, p[0], p[1]).Relu();
            var h2 = Functional.Linear(h1, p[2], p[3]).Relu();
            var loss = Functional.CrossEntropy(Functional.Linear(h2, p[4], p[5]), target);
            long t1 = GC.GetAllocatedBytesForCurrentThread();
            loss.Backward();
            long t2 = GC.GetAllocatedBytesForCurrentThread();
            sgd.Step();
            long t3 = GC.GetAllocatedBytesForCurrentThread();
            sgd.ZeroGrad();
            long t4 = GC.GetAllocatedBytesForCurrentThread();
            scope.Dispose();
            long t5 = GC.GetAllocatedBytesForCurrentThread();
            if (!count) return;
            bytes[0] += t1 - t0; bytes[1] += t2 - t1; bytes[2] += t3 - t2; bytes[3] += t4 - t3; bytes[4] += t5 - t4;
        }
        for (int i = 0; i < 50; i++) Step(count: false);
        // Collections in between change nothing for a program that disposes: once the garbage of earlier tests is
        // finalized (and a few collections found none), pooled objects and spares are kept across collections.
        for (int i = 0; i < 4; i++) { GC.Collect(); GC.WaitForPendingFinalizers(); }
        for (int i = 0; i < 3; i++) GC.Collect();
        for (int i = 0; i < 10; i++) Step(count: false);
        for (int i = 0; i < 200; i++)
        {
            if (i % 50 == 25) GC.Collect();
            Step(count: true);
        }
        Assert.Equal("forward 0, backward 0, step 0, zero_grad 0, scope 0",
                     $"forward {bytes[0]}, backward {bytes[1]}, step {bytes[2]}, zero_grad {bytes[3]}, scope {bytes[4]}");
    }

    [Fact]
    public void LeavesThatRequireGradAreNeverRecycled()
    {
        using var on = new Recycling();
        var w = Tensor.Ones([2], DType.Float32, requiresGrad: true);
        w.Dispose();
        var next = Vec(1, 2) + Vec(3, 4);
        Assert.NotSame(w, next);
        Assert.True(w.IsDisposed);
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void ASavedTensorIsNotRecycledAndBackwardThroughItStillWorks(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        using var on = new Recycling();
        var x = Tensor.FromArray([0.5, 1.5], [2]).RequiresGrad_();
        var y = x.Exp();
        var loss = (y * 3.0).Sum();
        y.Dispose();                 // ExpBackward0 saved it: the object is not reused
        var filler = Tensor.FromArray([7.0, 8.0], [2]) + 1.0;
        Assert.NotSame(y, filler);
        Assert.True(y.IsDisposed);
        loss.Backward();
        var grad = x.Grad!.ToArray<double>();
        Assert.Equal(3 * Math.Exp(0.5), grad[0], 1e-12);
        Assert.Equal(3 * Math.Exp(1.5), grad[1], 1e-12);
    }

    [Fact]
    public void AScopeRecyclesItsTensorsAndNeverDisposesAReusedObject()
    {
        using var on = new Recycling();
        var a = Vec(1, 2);
        Tensor first, second, third;
        using (Tensor.Scope())
        {
            first = a + a;
            second = a * a;
            first.Dispose();         // not the scope's newest: stays listed, not recycled
            second.Dispose();        // the newest: leaves the list, recycled
            third = a - a;           // reuses second's object, listed again
            Assert.Same(second, third);
            Assert.False(third.IsDisposed);
        }
        Assert.True(third.IsDisposed);
        // The scope recycled third (first was disposed before, unrecycled): the next result outside any scope reuses it.
        var t1 = a + a;
        var t2 = a * a;
        Assert.Same(third, t1);
        Assert.NotSame(first, t2);
        Assert.False(t1.IsDisposed);
        Assert.Equal(new[] { 2f, 4f }, t1.ToArray<float>());
        Assert.Equal(new[] { 1f, 4f }, t2.ToArray<float>());
    }

    [Fact]
    public void ATensorListedByAnotherThreadsScopeIsNotRecycled()
    {
        using var on = new Recycling();
        var a = Vec(1, 2);
        using var scope = Tensor.Scope();
        var c = a + a;
        var other = new Thread(() => c.Dispose()); // the other thread cannot take it out of this thread's scope
        other.Start();
        other.Join(); // (a thread, not an await: the scope must close on the thread that opened it)
        var d = a * a;
        Assert.NotSame(c, d);
        Assert.True(c.IsDisposed);
    }

    [Fact]
    public void TrainingWithRecyclingMatchesTrainingWithout()
    {
        static float[] Train(bool recycle)
        {
            bool before = Runtime.RecycleTensors;
            Runtime.RecycleTensors = recycle;
            try
            {
                var gen = new Generator(11);
                var x = Tensor.Randn([8, 5], DType.Float32, gen);
                var target = Tensor.FromArray(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 });
                var w1 = Tensor.Randn([6, 5], DType.Float32, gen, requiresGrad: true);
                var b1 = Tensor.Zeros([6], DType.Float32, requiresGrad: true);
                var w2 = Tensor.Randn([3, 6], DType.Float32, gen, requiresGrad: true);
                for (int step = 0; step < 20; step++)
                {
                    using var scope = Tensor.Scope();
                    var h = Functional.Linear(x, w1, b1).Relu();
                    var loss = Functional.CrossEntropy(Functional.Linear(h, w2), target);
                    loss.Backward();
                    foreach (var p in new[] { w1, b1, w2 })
                    {
                        using (Autograd.GradMode.NoGrad()) p.SubInPlace(p.Grad!, 0.1);
                        p.ZeroGrad();
                    }
                }
                return [.. w1.ToArray<float>(), .. b1.ToArray<float>(), .. w2.ToArray<float>()];
            }
            finally { Runtime.RecycleTensors = before; }
        }
        Assert.Equal(Train(recycle: false), Train(recycle: true));
    }
}
