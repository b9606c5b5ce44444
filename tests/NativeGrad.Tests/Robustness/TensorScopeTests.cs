using Xunit;

namespace NativeGrad.Tests.Robustness;

/// <summary>
/// TensorScope is a handle over a frame its thread reuses: a handle used after its scope closed (a second Dispose,
/// a copy) must never reach the scope that reuses the frame.
/// </summary>
public class TensorScopeTests
{
    private static Tensor Vec(params float[] values) => Tensor.FromArray(values);

    [Fact]
    public void ASecondDisposeDoesNotCloseTheScopeThatReusedTheFrame()
    {
        var a = Vec(1, 2);
        var first = Tensor.Scope();
        var t1 = a + a;
        first.Dispose();
        Assert.True(t1.IsDisposed);

        using var second = Tensor.Scope(); // takes the frame first used
        var t2 = a * a;
        first.Dispose();                   // stale handle: nothing happens
        Assert.False(t2.IsDisposed);
        Assert.Equal(1, second.Count);
        Assert.Equal(0, first.Count);
        Assert.Equal(new[] { 1f, 4f }, t2.ToArray<float>());
    }

    [Fact]
    public void ACopyOfTheHandleClosesTheScopeOnce()
    {
        var a = Vec(3);
        var scope = Tensor.Scope();
        var copy = scope;
        var t = a + a;
        copy.Dispose();
        Assert.True(t.IsDisposed);
        using var next = Tensor.Scope();
        var u = a + a;
        scope.Dispose();
        Assert.False(u.IsDisposed);
    }

    [Fact]
    public void MoveToOuterAfterDisposeThrows()
    {
        var scope = Tensor.Scope();
        var t = Vec(1) + Vec(2);
        scope.Dispose();
        Assert.Throws<ObjectDisposedException>(() => scope.MoveToOuter(t));
    }

    [Fact]
    public void TheDefaultHandleIsAClosedScope()
    {
        TensorScope none = default;
        none.Dispose();
        Assert.Equal(0, none.Count);
        Assert.Throws<ObjectDisposedException>(() => none.MoveToOuter(Vec(1)));
    }

    [Fact]
    public void NestedScopesEachDisposeTheirOwnAndMoveToOuterJoinsTheEnclosingOne()
    {
        var a = Vec(1, 2);
        Tensor outerT, innerT, moved;
        using (var outer = Tensor.Scope())
        {
            outerT = a + a;
            using (var inner = Tensor.Scope())
            {
                innerT = a * a;
                moved = inner.MoveToOuter(a - a);
                Assert.Equal(1, inner.Count);
            }
            Assert.True(innerT.IsDisposed);
            Assert.False(moved.IsDisposed);
            Assert.Equal(2, outer.Count);
        }
        Assert.True(outerT.IsDisposed);
        Assert.True(moved.IsDisposed);
    }

    [Fact]
    public void ScopesClosedOutOfOrderHandTrackingBackToTheNearestOpenOne()
    {
        var a = Vec(1);
        using var outer = Tensor.Scope();
        var middle = Tensor.Scope();
        var inner = Tensor.Scope();
        middle.Dispose();                  // before the scope it encloses
        var kept = inner.MoveToOuter(a + a); // middle is closed: the tensor joins the nearest open scope
        Assert.Equal(1, outer.Count);
        inner.Dispose();
        using (var reuse = Tensor.Scope()) // takes a closed frame: must not be mistaken for the old links
        {
            Assert.Equal(0, reuse.Count);
        }
        var t = a * a;                     // tracked by the outer scope, the nearest one still open
        Assert.Equal(2, outer.Count);
        outer.Dispose();
        Assert.True(t.IsDisposed);
        Assert.True(kept.IsDisposed);
    }

    [Fact]
    public void OpeningAndClosingScopesAllocatesNothingOnceWarm()
    {
        for (int i = 0; i < 10; i++) { using var s = Tensor.Scope(); using var inner = Tensor.Scope(); }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) { using var s = Tensor.Scope(); using var inner = Tensor.Scope(); }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
