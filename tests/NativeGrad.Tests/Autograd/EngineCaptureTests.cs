using Xunit;
using NativeGrad.Autograd;

namespace NativeGrad.Tests.AutogradBehaviour;

/// <summary>
/// Autograd.Grad and Backward(inputs:) capture the gradient flowing into each input's edge (its node and output
/// number), through a per-node chain the engine keeps in its reusable scratch; a pass started inside another
/// (here from a hook) takes its scratch from a shared pool.
/// </summary>
public class EngineCaptureTests
{
    /// <summary>Two outputs on one node: y1 = 2x, y2 = 3x.</summary>
    private sealed class TwoMultiples : Function
    {
        public override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs) => [inputs[0] * 2.0, inputs[0] * 3.0];
        public override Tensor?[] Backward(FunctionContext ctx, Tensor[] gradOutputs) => [gradOutputs[0] * 2.0 + gradOutputs[1] * 3.0];
    }

    [Fact]
    public void AnInputGivenTwiceGetsItsGradientInBothPlaces()
    {
        var x = Tensor.FromArray([1.0, 2.0, 3.0]).RequiresGrad_();
        var y = (x * x).Sum();
        var grads = Autograd.Autograd.Grad([y], [x, x]);
        Assert.Equal([2.0, 4.0, 6.0], grads[0]!.ToArray<double>());
        Assert.Same(grads[0], grads[1]); // PyTorch returns the same gradient for both
    }

    [Fact]
    public void TwoOutputsOfOneNodeAreCapturedByTheirOutputNumber()
    {
        var x = Tensor.FromArray([1.0, 2.0]).RequiresGrad_();
        var ys = new TwoMultiples().ApplyMany(x);
        Assert.Same(ys[0].GradFn, ys[1].GradFn);
        var loss = (ys[0] * ys[1] * ys[1]).Sum(); // d/dy1 = y2^2, d/dy2 = 2 y1 y2
        var grads = Autograd.Autograd.Grad([loss], [ys[1], x, ys[0]]);
        double[] y1 = [2.0, 4.0], y2 = [3.0, 6.0];
        Assert.Equal(new[] { 2 * y1[0] * y2[0], 2 * y1[1] * y2[1] }, grads[0]!.ToArray<double>());
        Assert.Equal(new[] { y2[0] * y2[0], y2[1] * y2[1] }, grads[2]!.ToArray<double>());
        // dL/dx = 2 y2^2 + 3 (2 y1 y2) = 18 x^2 + 36 x^2 = 54 x^2
        Assert.Equal([54.0, 216.0], grads[1]!.ToArray<double>());
    }

    [Fact]
    public void BackwardWithInputsAccumulatesOnlyIntoThem()
    {
        var a = Tensor.FromArray([1.0, 2.0]).RequiresGrad_();
        var b = Tensor.FromArray([3.0, 4.0]).RequiresGrad_();
        (a * b).Sum().Backward(inputs: [b, b]);
        Assert.Null(a.Grad);
        Assert.Equal([1.0, 2.0], b.Grad!.ToArray<double>()); // once, though b was given twice
    }

    [Fact]
    public void GradAndBackwardAfterEachOtherStartFromCleanCaptures()
    {
        // The capture table lives on in the thread's scratch: a Grad must not leave its entries to the next pass.
        var x = Tensor.FromArray([1.0, 2.0]).RequiresGrad_();
        var w = Tensor.FromArray([3.0, 5.0]).RequiresGrad_();
        for (int i = 0; i < 3; i++)
        {
            var gx = Autograd.Autograd.Grad((x * w).Sum(), x)!;
            Assert.Equal([3.0, 5.0], gx.ToArray<double>());
            if (i == 0) Assert.Null(x.Grad);
            else Assert.Equal([3.0 * i, 5.0 * i], x.Grad!.ToArray<double>()); // Grad left it alone
            Assert.Equal(i == 0 ? null : new[] { 1.0 * i, 2.0 * i }, w.Grad?.ToArray<double>());
            (x * w).Sum().Backward();
            Assert.Equal([3.0 * (i + 1), 5.0 * (i + 1)], x.Grad!.ToArray<double>());
            Assert.Equal([1.0 * (i + 1), 2.0 * (i + 1)], w.Grad!.ToArray<double>());
        }
    }

    [Fact]
    public void PassesStartedFromHooksGetTheirOwnScratchEveryTime()
    {
        // Each outer backward runs an inner Autograd.Grad from a hook; the inner passes draw pooled scratches while
        // the outer one holds the thread's own. Results must match a plain computation on every round and thread.
        void Round(int seed)
        {
            var gen = new Generator((ulong)seed);
            var x = Tensor.Randn([8], DType.Float64, gen, requiresGrad: true);
            var w = Tensor.Randn([8], DType.Float64, gen, requiresGrad: true);
            Tensor? inner = null;
            var h = x * w;
            h.RegisterHook(g =>
            {
                using var grad = Autograd.Autograd.EnableGrad(); // hooks run in the pass's grad mode (off), as in PyTorch
                var z = Tensor.FromArray([1.0, -2.0]).RequiresGrad_();
                inner = Autograd.Autograd.Grad((z * z * z).Sum(), z); // 3 z^2
                return null;
            });
            h.Tanh().Sum().Backward();
            Assert.Equal([3.0, 12.0], inner!.ToArray<double>());
            var t = (x.Detach() * w.Detach()).Tanh();
            double[] expected = (1.0 - t * t).Mul(w.Detach()).ToArray<double>();
            Assert.Equal(expected, x.Grad!.ToArray<double>());
        }
        for (int i = 0; i < 50; i++) Round(i);
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t => { for (int i = 0; i < 50; i++) Round(1000 * t + i); });
    }

    [Fact]
    public void AnOutermostPassUsesTheThreadsOwnScratchAndANestedOneAnother()
    {
        var state = ThreadState.Current;
        var x = Tensor.FromArray([1.0, 2.0]).RequiresGrad_();
        (x * x).Sum().Backward();
        var own = state.EngineScratch;
        bool? nestedSawOwnInUse = null;
        var h = x * 3.0;
        h.RegisterHook(g =>
        {
            nestedSawOwnInUse = state.EngineScratchInUse;
            using var grad = Autograd.Autograd.EnableGrad();
            var z = Tensor.FromArray([2.0]).RequiresGrad_();
            Assert.Equal([4.0], Autograd.Autograd.Grad((z * z).Sum(), z)!.ToArray<double>());
            Assert.True(state.EngineScratchInUse); // the inner pass left the outer one's scratch alone
            return null;
        });
        h.Sum().Backward();
        Assert.True(nestedSawOwnInUse);
        Assert.False(state.EngineScratchInUse);
        Assert.Same(own, state.EngineScratch);
    }
}
