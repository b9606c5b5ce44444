using Xunit;
using NativeGrad.Autograd;

namespace NativeGrad.Tests.AutogradBehaviour;

/// <summary>
/// The engine keeps a pass's gradient slots on the graph's nodes, claimed per pass; passes that meet a node another
/// pass holds (other threads on a shared graph, a backward started from a hook) use a dictionary.
/// </summary>
public class EngineConcurrencyTests
{
    private static (Tensor W, Tensor Loss) SharedGraph()
    {
        var gen = new Generator(11);
        var w = Tensor.Randn([8, 4], DType.Float64, gen, requiresGrad: true);
        var x = Tensor.Randn([16, 8], DType.Float64, gen);
        var h = x.MatMul(w).Tanh();
        var loss = (h * h).Sum() + h.Sum();
        return (w, loss);
    }

    [Fact]
    public void ThreadsDifferentiatingOneSharedGraphAllGetTheSequentialGradient()
    {
        var (w, loss) = SharedGraph();
        var expected = NativeGrad.Autograd.Autograd.Grad([loss], [w], retainGraph: true)[0]!.ToArray<double>();
        var failures = 0;
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            for (int i = 0; i < 300; i++)
            {
                var g = NativeGrad.Autograd.Autograd.Grad([loss], [w], retainGraph: true)[0]!.ToArray<double>();
                if (!g.SequenceEqual(expected)) Interlocked.Increment(ref failures);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Equal(0, failures);
    }

    [Fact]
    public void ABackwardStartedFromAHookOnTheSameGraphGivesTheSameGradient()
    {
        var (w, loss) = SharedGraph();
        var expected = NativeGrad.Autograd.Autograd.Grad([loss], [w], retainGraph: true)[0]!.ToArray<double>();
        double[]? inner = null;
        bool entered = false;
        using var handle = w.RegisterHook(g =>
        {
            // the outer pass holds every node of this graph: the nested pass must fall back and still be right
            if (entered) return null; // the nested pass runs this hook too
            entered = true;
            inner = NativeGrad.Autograd.Autograd.Grad([loss], [w], retainGraph: true)[0]!.ToArray<double>();
            return null;
        });
        loss.Backward(retainGraph: true);
        Assert.Equal(expected, inner);
        Assert.Equal(expected, w.Grad!.ToArray<double>());
        // and the nodes were given back: a plain pass afterwards works and matches
        w.ZeroGrad();
        loss.Backward();
        Assert.Equal(expected, w.Grad!.ToArray<double>());
    }
}
