using NativeGrad.Autograd;
using NativeGrad.NN;
using Xunit;
using AG = NativeGrad.Autograd.Autograd;

namespace NativeGrad.Tests.AutogradBehaviour;

/// <summary>
/// The tensors a backward pass creates (gradients, formula temporaries) are the engine's: when no user code ran in
/// the pass they are disposed at its end and their objects recycled; whatever the caller receives, or user code
/// could have kept, stays alive and belongs to the caller's scope.
/// </summary>
public class BackwardTemporariesTests
{
    private static Tensor Leaf(params double[] values) => Tensor.FromArray(values, [values.Length]).RequiresGrad_();

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void GradientsReturnedByGradOutliveThePassAndJoinTheCallersScope(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var x = Leaf(0.5, 2);
        Tensor g;
        using (var scope = Tensor.Scope())
        {
            var y = (x * x).Exp().Sum();
            g = AG.Grad(y, x)!;
            int tracked = scope.Count;
            Assert.False(g.IsDisposed);
            var expected = new[] { 2 * 0.5 * Math.Exp(0.25), 2 * 2 * Math.Exp(4.0) };
            Assert.Equal(expected[0], g.ToArray<double>()[0], 12);
            Assert.Equal(expected[1], g.ToArray<double>()[1], 10);
            scope.MoveToOuter(g);            // it is the scope's, like any tensor made inside it
            Assert.Equal(tracked - 1, scope.Count);
        }
        Assert.False(g.IsDisposed);
        Assert.Equal(2, g.NumElements);
    }

    [Fact]
    public void AGradientAHookKeptStaysAlive()
    {
        var x = Leaf(1, 2);
        Tensor? seen = null;
        var y = x * 3.0;
        y.RegisterHook(grad => { seen = grad * 1.0; return null; }); // user code: may keep what it made or saw
        (y * y).Sum().Backward();
        Assert.NotNull(seen);
        Assert.False(seen!.IsDisposed);
        Assert.Equal(new[] { 6.0, 12.0 }, seen.ToArray<double>());
        Assert.Equal(new[] { 18.0, 36.0 }, x.Grad!.ToArray<double>());
    }

    [Fact]
    public void ATensorAPostAccumulateHookMadeStaysAlive()
    {
        var x = Leaf(1, 2);
        Tensor? made = null;
        x.RegisterPostAccumulateGradHook(leaf => made = leaf.Grad! * 2.0);
        (x * x).Sum().Backward();
        (x * x).Sum().Backward(inputs: [x]); // the capture path too
        Assert.False(made!.IsDisposed);
        Assert.Equal(new[] { 8.0, 16.0 }, made.ToArray<double>());
    }

    [Fact]
    public void TheImplicitRootGradientAHookKeptIsNeverReusedOrChanged()
    {
        var x = Leaf(1, 2);
        Tensor? root = null;
        var loss = (x * x).Sum();
        loss.RegisterHook(g => { root ??= g; return null; });
        loss.Backward(retainGraph: true);
        loss.Backward();
        Assert.Equal(1.0, root!.Item());
        Assert.False(root.IsDisposed);
        var again = (x * 3.0).Sum();
        Tensor? next = null;
        again.RegisterHook(g => { next = g; return null; });
        again.Backward();                // a fresh implicit 1, not the one the first hook kept
        Assert.NotSame(root, next);
        Assert.Equal(1.0, root.Item());
        Assert.Equal(new[] { 7.0, 11.0 }, x.Grad!.ToArray<double>());
    }

    [Fact]
    public void AScalarLeafsGradNeverSharesTheImplicitRootGradient()
    {
        var s = Tensor.Scalar(2.0, DType.Float64, requiresGrad: true);
        s.Backward();                    // the root is the leaf itself: its grad is a copy of the implicit 1
        s.Backward();                    // accumulated in place: must not write into the 1 the next pass uses
        (s * 1.0).Backward();
        Assert.Equal(3.0, s.Grad!.Item());
    }

    private sealed class Stash : Function
    {
        public Tensor? Kept;

        public override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs) => [inputs[0] * 2.0];

        public override Tensor?[] Backward(FunctionContext ctx, Tensor[] grads)
        {
            var g = grads[0] * 2.0;
            Kept = g * 1.0;             // user code keeps a tensor made in backward
            return [g];
        }
    }

    [Fact]
    public void TensorsACustomFunctionKeptStayAlive()
    {
        var x = Leaf(1, 2);
        var f = new Stash();
        f.Apply(x).Sum().Backward();
        Assert.False(f.Kept!.IsDisposed);
        Assert.Equal(new[] { 2.0, 2.0 }, f.Kept.ToArray<double>());
        Assert.Equal(new[] { 2.0, 2.0 }, x.Grad!.ToArray<double>());
    }

    [Fact]
    public void CreateGraphKeepsItsGradientsAlive()
    {
        var x = Leaf(1, 2);
        var g = AG.Grad((x * x * x).Sum(), x, createGraph: true)!;
        var gg = AG.Grad(g.Sum(), x)!;
        Assert.Equal(new[] { 6.0, 12.0 }, gg.ToArray<double>());
        Assert.Equal(new[] { 3.0, 12.0 }, g.ToArray<double>());
    }

    [Fact]
    public void ALeafsGradIsItsOwnAfterThePass()
    {
        var x = Leaf(1, 2);
        var w = Leaf(3, 4);
        for (int i = 0; i < 3; i++) (x * w).Sum().Backward(); // stolen first, then added into
        Assert.False(x.Grad!.IsDisposed);
        Assert.Equal(new[] { 9.0, 12.0 }, x.Grad.ToArray<double>());
        Assert.Equal(new[] { 3.0, 6.0 }, w.Grad!.ToArray<double>());
    }
}
