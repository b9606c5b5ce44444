using NativeGrad.Autograd;
using NativeGrad.NN;
using Xunit;

namespace NativeGrad.Tests.AutogradBehaviour;

/// <summary>
/// Built-in ops' nodes live again once nothing references them (BackwardNode.Recycling.cs): these tests pin what may
/// and may not be recycled, and that gradients stay exact when nodes are reused across steps.
/// </summary>
public class NodeRecyclingTests
{
    private static Tensor Leaf(params double[] values) => Tensor.FromArray(values, [values.Length]).RequiresGrad_();

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void ADisposedGraphsNodeServesTheNextOpOfTheSameArity(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var x = Leaf(0.5, 1.5);
        BackwardNode first;
        using (Tensor.Scope())
        {
            var y = x.Exp();
            first = y.GradFnNode!; // internal read: pins nothing
        }
        using (Tensor.Scope())
        {
            var z = x.Tanh();     // one input, one saved tensor (its result), as exp
            Assert.Same(first, z.GradFnNode);
            Assert.Equal("TanhBackward0", z.GradFn!.Name);
            z.Sum().Backward();
        }
        var expected = new[] { 1 - Math.Pow(Math.Tanh(0.5), 2), 1 - Math.Pow(Math.Tanh(1.5), 2) };
        Assert.Equal(expected, x.Grad!.ToArray<double>(), new ToleranceComparer(1e-15));
    }

    [Fact]
    public void ANodeUserCodeSawIsNeverRecycled()
    {
        var x = Leaf(1, 2);
        BackwardNode seen;
        using (Tensor.Scope())
        {
            var y = x * 3.0;
            seen = y.GradFn!;    // public read: pinned
        }
        using (Tensor.Scope())
        {
            for (int i = 0; i < 10; i++) Assert.NotSame(seen, (x * 4.0).GradFnNode);
        }
        Assert.Equal("MulBackward0", seen.Name);
        Assert.Equal("AccumulateGrad", seen.NextFunctions[0].Node!.Name);
    }

    [Fact]
    public void NextFunctionsPinTheNodesTheyHandOut()
    {
        var x = Leaf(1, 2);
        BackwardNode inner;
        using (Tensor.Scope())
        {
            var y = (x * 2.0).Exp();
            inner = y.GradFn!.NextFunctions[0].Node!;
        }
        using (Tensor.Scope())
        {
            for (int i = 0; i < 10; i++) Assert.NotSame(inner, (x * 5.0).GradFnNode);
        }
        Assert.Equal("MulBackward0", inner.Name);
    }

    [Fact]
    public void AHookedNodeIsNeverRecycled()
    {
        var x = Leaf(1, 2);
        BackwardNode hooked;
        int calls = 0;
        using (Tensor.Scope())
        {
            var y = x * 2.0;
            hooked = y.GradFnNode!;
            y.RegisterHook(g => { calls++; return null; });
            y.Sum().Backward();
        }
        using (Tensor.Scope())
        {
            for (int i = 0; i < 10; i++) Assert.NotSame(hooked, (x * 3.0).GradFnNode);
        }
        Assert.Equal(1, calls);
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void ANodeLivesWhileAConsumerNeedsIt(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var x = Leaf(0.25, 0.75);
        var a = x * 3.0;
        var aNode = a.GradFnNode;
        var b = a.Exp();
        a.Dispose();                        // b's node still has an edge to a's
        for (int i = 0; i < 20; i++)        // ops of a's arity: none may take its node
        {
            using var t = x * 7.0;
            Assert.NotSame(aNode, t.GradFnNode);
        }
        b.Sum().Backward();
        var expected = new[] { 3 * Math.Exp(0.75), 3 * Math.Exp(2.25) };
        Assert.Equal(expected, x.Grad!.ToArray<double>(), new ToleranceComparer(1e-14));
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void RetainedGraphsKeepTheirNodesUntilTheLastTensorGoes(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var x = Leaf(1, 2, 3);
        var square = x * x;
        var loss = square.Sum();
        loss.Backward(retainGraph: true);
        var product = square.GradFnNode;
        var sum = loss.GradFnNode;
        square.Dispose();                   // the sum's edge still holds the product's node
        for (int i = 0; i < 5; i++) { using var t = x * x; Assert.NotSame(product, t.GradFnNode); }
        loss.Backward();                    // through the same nodes again
        Assert.Equal(new[] { 4.0, 8, 12 }, x.Grad!.ToArray<double>());
        loss.Dispose();                     // the last reference: both nodes recycled
        using var square2 = x * x;
        using var loss2 = square2.Sum();
        Assert.Same(product, square2.GradFnNode);
        Assert.Same(sum, loss2.GradFnNode);
    }

    [Fact]
    public void ALongChainFreedFromItsEndNeedsNoDeepStack()
    {
        var x = Leaf(1);
        var t = x;
        var chain = new List<Tensor>();
        for (int i = 0; i < 100_000; i++) chain.Add(t = t + 1.0);
        var nodes = chain.Select(c => c.GradFnNode!).ToHashSet(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < chain.Count - 1; i++) chain[i].Dispose(); // each node still held by the next one's edge
        chain[^1].Dispose();                // frees all 100,000, one after the other, without recursion
        using var next = x + 2.0;
        Assert.Contains(next.GradFnNode!, nodes);
        next.Sum().Backward();
        Assert.Equal(new[] { 1.0 }, x.Grad!.ToArray<double>());
    }

    [Fact]
    public void AGraphFreedOnAnotherThreadIsRecycledThereAndStaysCorrectHere()
    {
        var x = Leaf(0.5, 2);
        var y = (x * x).Exp();              // (the product stays: its tensor is never disposed)
        BackwardNode? recycledThere = null;
        var other = new Thread(() =>
        {
            var node = y.GradFnNode;
            y.Dispose();                    // the last reference: recycled into this thread's spares
            using var z = x.Sigmoid();
            recycledThere = ReferenceEquals(z.GradFnNode, node) ? node : null;
        });
        other.Start();
        other.Join();
        Assert.NotNull(recycledThere);
        var w = (x * x).Exp();              // this thread makes its own
        Assert.NotSame(recycledThere, w.GradFnNode);
        w.Sum().Backward();
        var expected = new[] { 2 * 0.5 * Math.Exp(0.25), 2 * 2 * Math.Exp(4.0) };
        Assert.Equal(expected, x.Grad!.ToArray<double>(), new ToleranceComparer(1e-13));
    }

    [Fact]
    public void ForwardOnlyGraphsGiveTheirSavedTensorsBackWhenDisposed()
    {
        var x = Leaf(1, 2, 3);
        var y = x.Exp();                    // ExpBackward0 saves y
        var z = y * 2.0;
        Assert.Equal(1, y.SavedCount);
        y.Dispose();                        // z's node still holds exp's
        Assert.Equal(1, y.SavedCount);
        z.Dispose();                        // no backward ran: recycling the nodes releases what they saved
        Assert.Equal(0, y.SavedCount);
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void TrainingWithScopesMatchesTrainingWithoutDisposal(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        // With scopes every node is recycled into the next step; without, none is. Both must train identically,
        // including a double-backward gradient penalty (nodes recorded by backward formulas).
        static double[] Train(bool scoped)
        {
            var gen = new Generator(3);
            var x = Tensor.Randn([6, 4], DType.Float64, gen);
            var target = Tensor.FromArray(new long[] { 0, 1, 2, 0, 1, 2 });
            var w1 = Tensor.Randn([5, 4], DType.Float64, gen, requiresGrad: true);
            var b1 = Tensor.Zeros([5], DType.Float64, requiresGrad: true);
            var w2 = Tensor.Randn([3, 5], DType.Float64, gen, requiresGrad: true);
            var xs = x.Clone().RequiresGrad_();
            for (int step = 0; step < 15; step++)
            {
                var scope = scoped ? Tensor.Scope() : default;
                var h = Functional.Linear(xs, w1, b1).Tanh();
                var loss = Functional.CrossEntropy(Functional.Linear(h, w2), target);
                var gx = NativeGrad.Autograd.Autograd.Grad(loss, xs, createGraph: true)!;
                var total = loss + (gx * gx).Sum() * 0.1;
                total.Backward();
                using (GradMode.NoGrad())
                {
                    foreach (var p in new[] { w1, b1, w2 })
                    {
                        p.SubInPlace(p.Grad!, 0.05);
                        p.ZeroGrad();
                    }
                }
                xs.ZeroGrad();
                scope.Dispose();
            }
            return [.. w1.ToArray<double>(), .. b1.ToArray<double>(), .. w2.ToArray<double>()];
        }
        Assert.Equal(Train(scoped: false), Train(scoped: true));
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tolerance * Math.Max(1, Math.Abs(b));
        public int GetHashCode(double value) => 0;
    }
}
