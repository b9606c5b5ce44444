using Xunit;
using NativeGrad.Autograd;

namespace NativeGrad.Tests.AutogradBehaviour;

/// <summary>
/// The engine runs nodes latest-created first (PyTorch's ready-queue order), which is topological because a node's
/// edges go to older nodes; a graph breaking that rule is ordered by Kahn's algorithm instead.
/// </summary>
public class EngineOrderTests
{
    [Theory]
    [InlineData(100)] // sorted by insertion
    [InlineData(400)] // sorted by Array.Sort
    public void AWideGraphRunsEachNodeOnceLatestCreatedFirst(int width)
    {
        // `width` products feed one stack: after StackBackward they are all ready at once.
        var x = Tensor.FromArray([1.0, 2.0, 3.0]).RequiresGrad_();
        var y = x * 2.0;
        var parts = Enumerable.Range(0, width).Select(i => y * (double)i).ToList();
        var order = new List<int>();
        for (int i = 0; i < parts.Count; i++)
        {
            int k = i;
            parts[i].GradFn!.RegisterPrehook(g => { order.Add(k); return null; });
        }
        Tensor.Stack(parts).Sum().Backward();
        double expected = 2.0 * width * (width - 1) / 2; // 2 * (0 + 1 + ... + width-1)
        Assert.Equal([expected, expected, expected], x.Grad!.ToArray<double>());
        Assert.Equal(Enumerable.Range(0, width).Reverse(), order);
    }

    [Fact]
    public void AnEdgeToANewerNodeIsOrderedByKahnsAlgorithm()
    {
        // a = x * 2 is made before b = x * 3; rewiring a's node to feed b's node gives an edge to a newer node.
        // Latest-first would run b's node before a's, when no gradient has reached it yet, and x would get nothing.
        var x = Tensor.FromArray([1.0, 2.0]).RequiresGrad_();
        var a = x * 2.0;
        var b = x * 3.0;
        var aNode = a.GradFn!;
        var bNode = b.GradFn!;
        Assert.True(bNode.SequenceNr > aNode.SequenceNr);
        aNode.Next[0] = new GradientEdge(bNode, 0);
        a.Sum().Backward();
        Assert.Equal([6.0, 6.0], x.Grad!.ToArray<double>()); // 1 -> (* 2) -> (* 3)
    }

    [Fact]
    public void SlotArraysReusedAcrossNodesNeverLeakAGradientIntoTheNextPass()
    {
        // Nodes give their one-element slot arrays back to the pass; two passes in a row must match a fresh computation.
        var gen = new Generator(5);
        var w = Tensor.Randn([4, 3], DType.Float64, gen, requiresGrad: true);
        var x = Tensor.Randn([2, 4], DType.Float64, gen);
        double[] Step()
        {
            w.ZeroGrad();
            x.MatMul(w).Tanh().Exp().Sum().Backward();
            return w.Grad!.ToArray<double>();
        }
        var first = Step();
        var second = Step();
        Assert.Equal(first, second);
        var expected = (x.T.MatMul((1 - x.MatMul(w).Tanh().Pow(2)) * x.MatMul(w).Tanh().Exp())).ToArray<double>();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], first[i], 12);
    }
}
