using Xunit;

namespace NativeGrad.Tests.AutogradBehaviour;

/// <summary>.Grad belongs to its leaf: it outlives scopes, is never shared with another tensor, and goes with the leaf.</summary>
public class GradOwnershipTests
{
    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void GradOutlivesTheScopeBackwardRanIn(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var w = Tensor.Ones([3], DType.Float32, requiresGrad: true);
        using (Tensor.Scope()) (w * 2.0).Sum().Backward();
        Assert.False(w.Grad!.IsDisposed);
        Assert.Equal(new[] { 2f, 2f, 2f }, w.Grad.ToArray<float>());
    }

    [Fact]
    public void LeavesThatReceiveTheSameGradientDoNotShareIt()
    {
        var a = Tensor.Ones([2], DType.Float64, requiresGrad: true);
        var b = Tensor.Ones([2], DType.Float64, requiresGrad: true);
        (a + b).Sum().Backward();     // AddBackward0 hands one tensor to both leaves
        Assert.NotSame(a.Grad, b.Grad);
        (a + b).Sum().Backward();     // accumulates in place into a.Grad and b.Grad
        Assert.Equal(new[] { 2.0, 2.0 }, a.Grad!.ToArray<double>());
        Assert.Equal(new[] { 2.0, 2.0 }, b.Grad!.ToArray<double>());
    }

    [Fact]
    public void TheCallersGradientIsNeverTakenOver()
    {
        var x = Tensor.Ones([2], DType.Float64, requiresGrad: true);
        var g = Tensor.FromArray([3.0, 4.0]);
        x.Backward(g);
        Assert.NotSame(g, x.Grad);
        x.ZeroGrad();
        Assert.False(g.IsDisposed);
        Assert.Equal(new[] { 3.0, 4.0 }, g.ToArray<double>());
    }

    [Fact]
    public void PassesOnTwoThreadsSharingTheCallersGradientNeverTakeItOver()
    {
        // The engine marks the gradients a pass holds on the tensors; a caller's gradient used by two concurrent passes
        // (each through an add, which hands it on unchanged) must be copied by both, whichever pass marks it first.
        var g = Tensor.FromArray([3.0, 4.0]);
        int taken = 0, wrong = 0;
        var threads = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
        {
            for (int i = 0; i < 2000; i++)
            {
                var x = Tensor.Ones([2], DType.Float64, requiresGrad: true);
                (x + 0.0).Backward(g);
                if (ReferenceEquals(x.Grad, g)) Interlocked.Increment(ref taken);
                if (!x.Grad!.ToArray<double>().SequenceEqual([3.0, 4.0])) Interlocked.Increment(ref wrong);
                x.Dispose();
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Equal(0, taken);
        Assert.Equal(0, wrong);
        Assert.False(g.IsDisposed);
        Assert.Equal(new[] { 3.0, 4.0 }, g.ToArray<double>());
    }

    [Fact]
    public void ZeroGradAndDisposeFreeTheGradient()
    {
        var w = Tensor.Ones([4], DType.Float32, requiresGrad: true);
        (w * 3.0).Sum().Backward();
        var grad = w.Grad!;
        w.ZeroGrad();
        Assert.Null(w.Grad);
        Assert.True(grad.IsDisposed);
        (w * 3.0).Sum().Backward();
        grad = w.Grad!;
        w.Dispose();
        Assert.True(grad.IsDisposed);
    }
}
