using NativeGrad.Autograd;
using NativeGrad.NN;
using NativeGrad.Optim;

namespace NativeGrad.Benchmarks.Workloads;

// The issue-5 workloads (W1-W7) written against NativeGrad, one class each: the constructor is the setup (it
// runs on the backend chosen before it), Run() is one measured operation, Dispose gives every tensor back. The
// benchmark classes here and the peer comparison (bench/NativeGrad.Benchmarks.Peers, which runs the same workloads
// on TorchSharp) share them. Everything is float32, as in the libtorch table.
//
// A setup leaves no tensor to the GC, and a benchmark disposes its workload when its case ends: the peer run is one
// process, and a forgotten tensor finalized during a later case makes the pool renew the objects it hands out
// there (see StoragePool.Rent), a one-off allocation the MemoryDiagnoser would put on that case's operation.

/// <summary>Disposes a workload's tensors.</summary>
internal static class Tensors
{
    public static void Dispose(params ReadOnlySpan<Tensor?> tensors)
    {
        foreach (var t in tensors) t?.Dispose();
    }
}

/// <summary>W1 seed-step: the tutorial's step: z = x·w + b, BCE-with-logits, backward, zero the grads.</summary>
public sealed class SeedStep : IDisposable
{
    private readonly Tensor _x, _y, _w, _b;

    /// <summary>x = ones(5), y = zeros(3), w = randn(5, 3) and b = randn(3) requiring grad.</summary>
    public SeedStep()
    {
        var gen = new Generator(1);
        _x = Tensor.Ones(5);
        _y = Tensor.Zeros(3);
        _w = Tensor.Randn([5, 3], DType.Float32, gen, requiresGrad: true);
        _b = Tensor.Randn([3], DType.Float32, gen, requiresGrad: true);
    }

    /// <summary>One step; the scope returns every temporary (and the grads) to the pool.</summary>
    public void Run()
    {
        using var scope = Tensor.Scope();
        var z = _x.MatMul(_w) + _b;
        Functional.BinaryCrossEntropyWithLogits(z, _y).Backward();
        _w.ZeroGrad();
        _b.ZeroGrad();
    }

    /// <summary>Gives the workload's tensors (and their grads) back.</summary>
    public void Dispose() => Tensors.Dispose(_x, _y, _w, _b);
}

/// <summary>
/// W2 tiny-op: c = a + b on 16 floats, with or without a requiring grad (forward only); or, with <c>into</c>, the
/// same addition written into a preallocated c (<c>a.Add(b, c)</c>, PyTorch's out=), which allocates nothing.
/// </summary>
public sealed class TinyOp : IDisposable
{
    private readonly Tensor _a, _b;
    private readonly Tensor? _out;

    /// <summary>Two random 16-float vectors; <paramref name="grad"/> makes a require grad; <paramref name="into"/> preallocates the result.</summary>
    public TinyOp(bool grad, bool into = false)
    {
        var gen = new Generator(2);
        _a = Tensor.Randn([16], DType.Float32, gen, requiresGrad: grad);
        _b = Tensor.Randn([16], DType.Float32, gen);
        if (into) _out = Tensor.Zeros([16], DType.Float32);
    }

    /// <summary>One addition; the result goes back to the pool at once (or is written into the preallocated one).</summary>
    public void Run()
    {
        if (_out is not null)
        {
            _a.Add(_b, _out);
            return;
        }
        using var c = _a + _b;
    }

    /// <summary>Gives the workload's tensors (and their grads) back.</summary>
    public void Dispose() => Tensors.Dispose(_a, _b, _out);
}

/// <summary>W3 elementwise: add, mul, exp or tanh out of place on <c>size</c> floats.</summary>
public sealed class Elementwise : IDisposable
{
    private readonly Tensor _a, _b;
    private readonly Func<Tensor, Tensor, Tensor> _op;

    /// <summary>Random inputs of <paramref name="size"/> floats; <paramref name="op"/> is add, mul, exp or tanh.</summary>
    public Elementwise(string op, int size)
    {
        var gen = new Generator(3);
        _a = Tensor.Randn([size], DType.Float32, gen);
        _b = Tensor.Randn([size], DType.Float32, gen);
        _op = op switch
        {
            "add" => static (a, b) => a + b,
            "mul" => static (a, b) => a * b,
            "exp" => static (a, _) => a.Exp(),
            "tanh" => static (a, _) => a.Tanh(),
            _ => throw new ArgumentException($"unknown op {op}"),
        };
    }

    /// <summary>One op; the output buffer returns to the pool, so the next op reuses it (no page faults).</summary>
    public void Run()
    {
        using var c = _op(_a, _b);
    }

    /// <summary>Gives the workload's tensors (and their grads) back.</summary>
    public void Dispose() => Tensors.Dispose(_a, _b);
}

/// <summary>W4 gemm: square float32 matmul of size n.</summary>
public sealed class Gemm : IDisposable
{
    private readonly Tensor _a, _b;

    /// <summary>Two random n x n matrices.</summary>
    public Gemm(int n)
    {
        var gen = new Generator(4);
        _a = Tensor.Randn([n, n], DType.Float32, gen);
        _b = Tensor.Randn([n, n], DType.Float32, gen);
    }

    /// <summary>One product.</summary>
    public void Run()
    {
        using var c = _a.MatMul(_b);
    }

    /// <summary>Gives the workload's tensors (and their grads) back.</summary>
    public void Dispose() => Tensors.Dispose(_a, _b);
}

/// <summary>
/// W5 mlp-step: MLP 784-512-256-10 with ReLU, batch 128, cross_entropy; forward, backward and a plain SGD update
/// (p -= lr * p.grad, in place through the backend kernels, no graph), then the grads are cleared.
/// </summary>
public sealed class MlpStep : IDisposable
{
    /// <summary>The SGD learning rate.</summary>
    public const double LearningRate = 0.01;

    private readonly Tensor _x, _target;
    private readonly Tensor[] _params;
    private readonly SGD _sgd;

    /// <summary>Random input [128, 784], random class targets, weights scaled like PyTorch's default init.</summary>
    public MlpStep()
    {
        var gen = new Generator(5);
        _x = Tensor.Randn([128, 784], DType.Float32, gen);
        var labels = new long[128];
        for (int i = 0; i < labels.Length; i++) labels[i] = (long)(gen.NextDouble() * 10) % 10;
        _target = Tensor.FromArray(labels);
        int[] sizes = [784, 512, 256, 10];
        var ps = new List<Tensor>();
        for (int l = 0; l < 3; l++)
        {
            // Scaled in place: a temporary left to the GC would be finalized at BenchmarkDotNet's first forced
            // collection, and the pool, seeing a forgotten tensor, would renew the objects it hands out next
            // (a one-off allocation the MemoryDiagnoser would put on the step).
            double bound = 1.0 / Math.Sqrt(sizes[l]);
            ps.Add(Tensor.Randn([sizes[l + 1], sizes[l]], DType.Float32, gen).MulInPlace(bound).RequiresGrad_());
            ps.Add(Tensor.Randn([sizes[l + 1]], DType.Float32, gen).MulInPlace(bound).RequiresGrad_());
        }
        _params = [.. ps];
        _sgd = new SGD(_params, lr: LearningRate);
    }

    /// <summary>The loss of the last step (for checking that training moves).</summary>
    public double LastLoss { get; private set; }

    /// <summary>One training step.</summary>
    public void Run() => Step(recordLoss: false);

    /// <summary>One training step; <paramref name="recordLoss"/> reads the loss back (a copy, kept out of the timing).</summary>
    public void Step(bool recordLoss)
    {
        using var scope = Tensor.Scope();
        var h1 = Functional.Linear(_x, _params[0], _params[1]).Relu();
        var h2 = Functional.Linear(h1, _params[2], _params[3]).Relu();
        var logits = Functional.Linear(h2, _params[4], _params[5]);
        var loss = Functional.CrossEntropy(logits, _target);
        loss.Backward();
        if (recordLoss) LastLoss = loss.Item();
        _sgd.Step();
        _sgd.ZeroGrad();
    }

    /// <summary>Gives the workload's tensors (and their grads) back.</summary>
    public void Dispose()
    {
        _sgd.Dispose(); // its workspaces
        Tensors.Dispose([_x, _target, .. _params]);
    }
}

/// <summary>W6 sum: the sum of 16M floats.</summary>
public sealed class Sum : IDisposable
{
    private readonly Tensor _x;

    /// <summary>A random vector of <paramref name="size"/> floats.</summary>
    public Sum(int size) => _x = Tensor.Randn([size], DType.Float32, new Generator(6));

    /// <summary>One sum.</summary>
    public void Run()
    {
        using var s = _x.Sum();
    }

    /// <summary>Gives the workload's tensors (and their grads) back.</summary>
    public void Dispose() => Tensors.Dispose(_x);
}

/// <summary>W7 softmax: softmax or log_softmax over the last dim of 4096x1024, forward or forward + backward.</summary>
public sealed class Softmax : IDisposable
{
    private readonly Tensor _x, _xGrad, _g;
    private readonly bool _log, _backward;

    /// <summary>Random logits; the backward variant feeds a fixed random upstream gradient.</summary>
    public Softmax(bool log, bool backward, int rows = 4096, int cols = 1024)
    {
        var gen = new Generator(7);
        _x = Tensor.Randn([rows, cols], DType.Float32, gen);
        _xGrad = _x.Detach().RequiresGrad_();
        _g = Tensor.Randn([rows, cols], DType.Float32, gen);
        _log = log;
        _backward = backward;
    }

    /// <summary>One forward (and backward).</summary>
    public void Run()
    {
        if (!_backward)
        {
            using var y = _log ? Functional.LogSoftmax(_x, -1) : Functional.Softmax(_x, -1);
            return;
        }
        using var scope = Tensor.Scope();
        var yg = _log ? Functional.LogSoftmax(_xGrad, -1) : Functional.Softmax(_xGrad, -1);
        yg.Backward(_g);
        _xGrad.ZeroGrad();
    }

    /// <summary>Gives the workload's tensors (and their grads) back.</summary>
    public void Dispose() => Tensors.Dispose(_x, _xGrad, _g);
}

/// <summary>
/// Beyond W1-W7: binary_cross_entropy_with_logits (mean) over <c>size</c> logits against probabilities in [0, 1],
/// forward or forward + backward (a multi-label or mask loss; the fused kernels of issue 5's item 2).
/// </summary>
public sealed class BceWithLogits : IDisposable
{
    private readonly Tensor _x, _y;
    private readonly bool _backward;

    /// <summary>Random logits requiring grad and random targets in [0, 1].</summary>
    public BceWithLogits(bool backward, int size = 1 << 20)
    {
        var gen = new Generator(8);
        _x = Tensor.Randn([size], DType.Float32, gen, requiresGrad: true);
        _y = Tensor.Rand([size], DType.Float32, gen);
        _backward = backward;
    }

    /// <summary>One loss (and its gradient).</summary>
    public void Run()
    {
        using var scope = Tensor.Scope();
        var loss = Functional.BinaryCrossEntropyWithLogits(_x, _y);
        if (!_backward) return;
        loss.Backward();
        _x.ZeroGrad();
    }

    /// <summary>Gives the workload's tensors (and their grads) back.</summary>
    public void Dispose() => Tensors.Dispose(_x, _y);
}
