using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace NativeGrad.Benchmarks.Peers;

using Tensor = TorchSharp.torch.Tensor; // not NativeGrad.Tensor, which the enclosing namespace would find first

// The issue-5 workloads (W1-W7) written against TorchSharp, idiomatically: a DisposeScope per step frees every
// temporary at once (as NativeGrad's Tensor.Scope does), grads are cleared by setting them to null (PyTorch's
// zero_grad(set_to_none=True)), the SGD update is the fused p.add_(grad, alpha: -lr) that torch.optim.SGD runs.
// Same shapes, dtype (float32) and operations as bench/NativeGrad.Benchmarks/Workloads/NativeGradWorkloads.cs.

/// <summary>Disposes a workload's tensors and their grads (libtorch memory is freed now, not by finalizers during a later case).</summary>
internal static class TorchTensors
{
    public static void DisposeAll(params ReadOnlySpan<Tensor> tensors)
    {
        foreach (var t in tensors)
        {
            t.grad?.Dispose();
            t.Dispose();
        }
    }
}

/// <summary>W1 seed-step on TorchSharp.</summary>
public sealed class TorchSeedStep : IDisposable
{
    private readonly Tensor _x, _y, _w, _b;

    public TorchSeedStep()
    {
        torch.manual_seed(1);
        _x = torch.ones(5);
        _y = torch.zeros(3);
        _w = torch.randn(5, 3).requires_grad_();
        _b = torch.randn(3).requires_grad_();
    }

    public void Run()
    {
        using var scope = torch.NewDisposeScope();
        var z = _x.matmul(_w) + _b;
        F.binary_cross_entropy_with_logits(z, _y).backward();
        _w.grad = null;
        _b.grad = null;
    }

    public void Dispose() => TorchTensors.DisposeAll(_x, _y, _w, _b);
}

/// <summary>W2 tiny-op on TorchSharp.</summary>
public sealed class TorchTinyOp : IDisposable
{
    private readonly Tensor _a, _b;

    public TorchTinyOp(bool grad)
    {
        torch.manual_seed(2);
        _a = torch.randn(16).requires_grad_(grad);
        _b = torch.randn(16);
    }

    public void Run()
    {
        using var c = _a + _b;
    }

    public void Dispose() => TorchTensors.DisposeAll(_a, _b);
}

/// <summary>W3 elementwise on TorchSharp.</summary>
public sealed class TorchElementwise : IDisposable
{
    private readonly Tensor _a, _b;
    private readonly Func<Tensor, Tensor, Tensor> _op;

    public TorchElementwise(string op, int size)
    {
        torch.manual_seed(3);
        _a = torch.randn(size);
        _b = torch.randn(size);
        _op = op switch
        {
            "add" => static (a, b) => a + b,
            "mul" => static (a, b) => a * b,
            "exp" => static (a, _) => a.exp(),
            "tanh" => static (a, _) => a.tanh(),
            _ => throw new ArgumentException($"unknown op {op}"),
        };
    }

    public void Run()
    {
        using var c = _op(_a, _b);
    }

    public void Dispose() => TorchTensors.DisposeAll(_a, _b);
}

/// <summary>W4 gemm on TorchSharp.</summary>
public sealed class TorchGemm : IDisposable
{
    private readonly Tensor _a, _b;

    public TorchGemm(int n)
    {
        torch.manual_seed(4);
        _a = torch.randn(n, n);
        _b = torch.randn(n, n);
    }

    public void Run()
    {
        using var c = _a.matmul(_b);
    }

    public void Dispose() => TorchTensors.DisposeAll(_a, _b);
}

/// <summary>W5 mlp-step on TorchSharp.</summary>
public sealed class TorchMlpStep : IDisposable
{
    private readonly Tensor _x, _target;
    private readonly Tensor[] _params;

    public TorchMlpStep()
    {
        torch.manual_seed(5);
        _x = torch.randn(128, 784);
        _target = torch.randint(0, 10, [128], dtype: ScalarType.Int64);
        int[] sizes = [784, 512, 256, 10];
        var ps = new List<Tensor>();
        for (int l = 0; l < 3; l++)
        {
            double bound = 1.0 / Math.Sqrt(sizes[l]);
            ps.Add(torch.randn(sizes[l + 1], sizes[l]).mul_(bound).requires_grad_());
            ps.Add(torch.randn(sizes[l + 1]).mul_(bound).requires_grad_());
        }
        _params = [.. ps];
    }

    public double LastLoss { get; private set; }

    public void Run() => Step(recordLoss: false);

    public void Step(bool recordLoss)
    {
        using var scope = torch.NewDisposeScope();
        var h1 = F.relu(F.linear(_x, _params[0], _params[1]));
        var h2 = F.relu(F.linear(h1, _params[2], _params[3]));
        var logits = F.linear(h2, _params[4], _params[5]);
        var loss = F.cross_entropy(logits, _target);
        loss.backward();
        if (recordLoss) LastLoss = loss.item<float>();
        using (torch.no_grad())
        {
            foreach (var p in _params)
            {
                p.add_(p.grad!, alpha: -NativeGrad.Benchmarks.Workloads.MlpStep.LearningRate);
                p.grad = null;
            }
        }
    }

    public void Dispose() => TorchTensors.DisposeAll([_x, _target, .. _params]);
}

/// <summary>W6 sum on TorchSharp.</summary>
public sealed class TorchSum : IDisposable
{
    private readonly Tensor _x;

    public TorchSum(int size)
    {
        torch.manual_seed(6);
        _x = torch.randn(size);
    }

    public void Run()
    {
        using var s = _x.sum();
    }

    public void Dispose() => TorchTensors.DisposeAll(_x);
}

/// <summary>W7 softmax on TorchSharp.</summary>
public sealed class TorchSoftmax : IDisposable
{
    private readonly Tensor _x, _xGrad, _g;
    private readonly bool _log, _backward;

    public TorchSoftmax(bool log, bool backward, int rows = 4096, int cols = 1024)
    {
        torch.manual_seed(7);
        _x = torch.randn(rows, cols);
        _xGrad = _x.detach().requires_grad_();
        _g = torch.randn(rows, cols);
        _log = log;
        _backward = backward;
    }

    public void Run()
    {
        if (!_backward)
        {
            using var y = _log ? F.log_softmax(_x, -1) : F.softmax(_x, -1);
            return;
        }
        using var scope = torch.NewDisposeScope();
        var yg = _log ? F.log_softmax(_xGrad, -1) : F.softmax(_xGrad, -1);
        yg.backward([_g]);
        _xGrad.grad = null;
    }

    public void Dispose() => TorchTensors.DisposeAll(_x, _xGrad, _g);
}

/// <summary>binary_cross_entropy_with_logits (mean) on TorchSharp, forward or forward + backward.</summary>
public sealed class TorchBceWithLogits : IDisposable
{
    private readonly Tensor _x, _y;
    private readonly bool _backward;

    public TorchBceWithLogits(bool backward, int size = 1 << 20)
    {
        torch.manual_seed(8);
        _x = torch.randn(size).requires_grad_();
        _y = torch.rand(size);
        _backward = backward;
    }

    public void Run()
    {
        using var scope = torch.NewDisposeScope();
        var loss = F.binary_cross_entropy_with_logits(_x, _y);
        if (!_backward) return;
        loss.backward();
        _x.grad = null;
    }

    public void Dispose() => TorchTensors.DisposeAll(_x, _y);
}
