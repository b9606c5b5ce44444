using BenchmarkDotNet.Attributes;
using NativeGrad.NN;

namespace NativeGrad.Benchmarks;

/// <summary>The workloads, on the native and the managed backend in the same run (ratio column: managed vs native).</summary>
[MemoryDiagnoser]
public class Workloads
{
    private Tensor _x = null!, _y = null!, _w = null!, _b = null!;
    private Tensor _a16 = null!, _b16 = null!, _big = null!, _m = null!, _logits = null!;

    [Params(BackendKind.Native, BackendKind.Managed)]
    public BackendKind Backend { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Runtime.Backend = Backend;
        var gen = new Generator(1);
        _x = Tensor.Ones(5);
        _y = Tensor.Zeros(3);
        _w = Tensor.Randn([5, 3], DType.Float32, gen, requiresGrad: true);
        _b = Tensor.Randn([3], DType.Float32, gen, requiresGrad: true);
        _a16 = Tensor.Randn([16], DType.Float32, gen);
        _b16 = Tensor.Randn([16], DType.Float32, gen);
        _big = Tensor.Randn([1 << 20], DType.Float32, gen);
        _m = Tensor.Randn([256, 256], DType.Float32, gen);
        _logits = Tensor.Randn([4096, 1024], DType.Float32, gen);
    }

    /// <summary>W1: the tutorial's training step.</summary>
    [Benchmark]
    public void W1_SeedStep()
    {
        using var scope = Tensor.Scope();
        var z = _x.MatMul(_w) + _b;
        Functional.BinaryCrossEntropyWithLogits(z, _y).Backward();
        _w.ZeroGrad();
        _b.ZeroGrad();
    }

    /// <summary>W2: a + b on 16 floats without grad.</summary>
    [Benchmark]
    public void W2_TinyOp()
    {
        using var c = _a16 + _b16;
    }

    /// <summary>W3: exp of 1M floats.</summary>
    [Benchmark]
    public void W3_Exp1M()
    {
        using var c = _big.Exp();
    }

    /// <summary>W4: 256x256 float32 matmul.</summary>
    [Benchmark]
    public void W4_Gemm256()
    {
        using var c = _m.MatMul(_m);
    }

    /// <summary>W6: sum of 1M floats.</summary>
    [Benchmark]
    public void W6_Sum1M()
    {
        using var c = _big.Sum();
    }

    /// <summary>W7: softmax over the last dim of 4096x1024.</summary>
    [Benchmark]
    public void W7_Softmax()
    {
        using var c = Functional.Softmax(_logits, -1);
    }
}
