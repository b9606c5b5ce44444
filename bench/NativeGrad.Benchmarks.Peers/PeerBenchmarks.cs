using BenchmarkDotNet.Attributes;
using NativeGrad.Benchmarks.Workloads;
using TorchSharp;

namespace NativeGrad.Benchmarks.Peers;

// W1-W7 of issue 5 with three implementations per row: libtorch through TorchSharp (the baseline: the Ratio
// column is NativeGrad time / libtorch time), NativeGrad native and NativeGrad managed. Threads = 1 or 2 sets
// libtorch's intra-op threads, NativeGrad's pool and the process affinity alike (ThreadSetting).

/// <summary>
/// The NativeGrad side's thread count and setup (<see cref="BackendBenchmark"/>: Threads, backend choice, affinity
/// reset) plus libtorch's setup.
/// </summary>
public abstract class PeerBenchmark : BackendBenchmark
{
    /// <summary>Sets libtorch's thread count and the affinity, then builds the TorchSharp workload.</summary>
    protected T SetUpTorch<T>(Func<T> create) where T : IDisposable
    {
        ThreadSetting.Apply(Threads);
        torch.set_num_threads(Threads);
        return Track(create());
    }
}

/// <summary>W1 seed-step.</summary>
[MemoryDiagnoser]
public class W1_SeedStep : PeerBenchmark
{
    private TorchSeedStep _torch = null!;
    private SeedStep _native = null!, _managed = null!;

    [GlobalSetup(Target = nameof(TorchSharp))] public void SetupTorch() => _torch = SetUpTorch(() => new TorchSeedStep());
    [GlobalSetup(Target = nameof(Native))] public void SetupNative() => _native = SetUp(BackendKind.Native, () => new SeedStep());
    [GlobalSetup(Target = nameof(Managed))] public void SetupManaged() => _managed = SetUp(BackendKind.Managed, () => new SeedStep());
    [Benchmark(Baseline = true)] public void TorchSharp() => _torch.Run();
    [Benchmark] public void Native() => _native.Run();
    [Benchmark] public void Managed() => _managed.Run();
}

/// <summary>W2 tiny-op: 16-float add, without and with grad.</summary>
[MemoryDiagnoser]
public class W2_TinyOp : PeerBenchmark
{
    private TorchTinyOp _torch = null!;
    private TinyOp _native = null!, _managed = null!;

    /// <summary>Whether a requires grad.</summary>
    [Params(false, true)]
    public bool Grad { get; set; }

    [GlobalSetup(Target = nameof(TorchSharp))] public void SetupTorch() => _torch = SetUpTorch(() => new TorchTinyOp(Grad));
    [GlobalSetup(Target = nameof(Native))] public void SetupNative() => _native = SetUp(BackendKind.Native, () => new TinyOp(Grad));
    [GlobalSetup(Target = nameof(Managed))] public void SetupManaged() => _managed = SetUp(BackendKind.Managed, () => new TinyOp(Grad));
    [Benchmark(Baseline = true)] public void TorchSharp() => _torch.Run();
    [Benchmark] public void Native() => _native.Run();
    [Benchmark] public void Managed() => _managed.Run();
}

/// <summary>
/// W2 tiny-op written into a preallocated result (NativeGrad's out=, <c>a.Add(b, c)</c>: 0 B per op) against
/// libtorch's c = a + b (the W2 baseline).
/// </summary>
[MemoryDiagnoser]
public class W2_TinyOpInto : PeerBenchmark
{
    private TorchTinyOp _torch = null!;
    private TinyOp _native = null!, _managed = null!;

    [GlobalSetup(Target = nameof(TorchSharp))] public void SetupTorch() => _torch = SetUpTorch(() => new TorchTinyOp(false));
    [GlobalSetup(Target = nameof(Native))] public void SetupNative() => _native = SetUp(BackendKind.Native, () => new TinyOp(false, into: true));
    [GlobalSetup(Target = nameof(Managed))] public void SetupManaged() => _managed = SetUp(BackendKind.Managed, () => new TinyOp(false, into: true));
    [Benchmark(Baseline = true)] public void TorchSharp() => _torch.Run();
    [Benchmark] public void Native() => _native.Run();
    [Benchmark] public void Managed() => _managed.Run();
}

/// <summary>
/// W2 tiny-op, c = a + b disposed at once, with <see cref="Runtime.RecycleTensors"/> on: the disposed result's object
/// is the next result (0 B per op), against libtorch's c = a + b.
/// </summary>
[MemoryDiagnoser]
public class W2_TinyOpRecycled : PeerBenchmark
{
    private TorchTinyOp _torch = null!;
    private TinyOp _native = null!, _managed = null!;

    [GlobalSetup(Target = nameof(TorchSharp))] public void SetupTorch() => _torch = SetUpTorch(() => new TorchTinyOp(false));
    [GlobalSetup(Target = nameof(Native))] public void SetupNative() => _native = SetUpRecycling(BackendKind.Native, () => new TinyOp(false));
    [GlobalSetup(Target = nameof(Managed))] public void SetupManaged() => _managed = SetUpRecycling(BackendKind.Managed, () => new TinyOp(false));
    [Benchmark(Baseline = true)] public void TorchSharp() => _torch.Run();
    [Benchmark] public void Native() => _native.Run();
    [Benchmark] public void Managed() => _managed.Run();
}

/// <summary>W3 elementwise: add, mul, exp, tanh out of place at 1M and 16M floats.</summary>
[MemoryDiagnoser]
public class W3_Elementwise : PeerBenchmark
{
    private TorchElementwise _torch = null!;
    private Elementwise _native = null!, _managed = null!;

    /// <summary>The op.</summary>
    [Params("add", "mul", "exp", "tanh")]
    public string Op { get; set; } = "add";

    /// <summary>Elements.</summary>
    [Params(1 << 20, 1 << 24)]
    public int Size { get; set; }

    [GlobalSetup(Target = nameof(TorchSharp))] public void SetupTorch() => _torch = SetUpTorch(() => new TorchElementwise(Op, Size));
    [GlobalSetup(Target = nameof(Native))] public void SetupNative() => _native = SetUp(BackendKind.Native, () => new Elementwise(Op, Size));
    [GlobalSetup(Target = nameof(Managed))] public void SetupManaged() => _managed = SetUp(BackendKind.Managed, () => new Elementwise(Op, Size));
    [Benchmark(Baseline = true)] public void TorchSharp() => _torch.Run();
    [Benchmark] public void Native() => _native.Run();
    [Benchmark] public void Managed() => _managed.Run();
}

/// <summary>W4 gemm: square float32 matmul (GFLOP/s column).</summary>
[MemoryDiagnoser]
public class W4_Gemm : PeerBenchmark
{
    private TorchGemm _torch = null!;
    private Gemm _native = null!, _managed = null!;

    /// <summary>Matrix size.</summary>
    [Params(64, 128, 256, 512, 1024, 2048)]
    public int N { get; set; }

    [GlobalSetup(Target = nameof(TorchSharp))] public void SetupTorch() => _torch = SetUpTorch(() => new TorchGemm(N));
    [GlobalSetup(Target = nameof(Native))] public void SetupNative() => _native = SetUp(BackendKind.Native, () => new Gemm(N));
    [GlobalSetup(Target = nameof(Managed))] public void SetupManaged() => _managed = SetUp(BackendKind.Managed, () => new Gemm(N));
    [Benchmark(Baseline = true)] public void TorchSharp() => _torch.Run();
    [Benchmark] public void Native() => _native.Run();
    [Benchmark] public void Managed() => _managed.Run();
}

/// <summary>W5 mlp-step: 784-512-256-10 ReLU MLP, batch 128, cross_entropy, forward + backward + SGD.</summary>
[MemoryDiagnoser]
public class W5_MlpStep : PeerBenchmark
{
    private TorchMlpStep _torch = null!;
    private MlpStep _native = null!, _managed = null!;

    [GlobalSetup(Target = nameof(TorchSharp))] public void SetupTorch() => _torch = SetUpTorch(() => new TorchMlpStep());
    [GlobalSetup(Target = nameof(Native))] public void SetupNative() => _native = SetUp(BackendKind.Native, () => new MlpStep());
    [GlobalSetup(Target = nameof(Managed))] public void SetupManaged() => _managed = SetUp(BackendKind.Managed, () => new MlpStep());
    [Benchmark(Baseline = true)] public void TorchSharp() => _torch.Run();
    [Benchmark] public void Native() => _native.Run();
    [Benchmark] public void Managed() => _managed.Run();
}

/// <summary>W5 mlp-step with <see cref="Runtime.RecycleTensors"/> on (the scope's tensors are the next step's), against libtorch's step.</summary>
[MemoryDiagnoser]
public class W5_MlpStepRecycled : PeerBenchmark
{
    private TorchMlpStep _torch = null!;
    private MlpStep _native = null!, _managed = null!;

    [GlobalSetup(Target = nameof(TorchSharp))] public void SetupTorch() => _torch = SetUpTorch(() => new TorchMlpStep());
    [GlobalSetup(Target = nameof(Native))] public void SetupNative() => _native = SetUpRecycling(BackendKind.Native, () => new MlpStep());
    [GlobalSetup(Target = nameof(Managed))] public void SetupManaged() => _managed = SetUpRecycling(BackendKind.Managed, () => new MlpStep());
    [Benchmark(Baseline = true)] public void TorchSharp() => _torch.Run();
    [Benchmark] public void Native() => _native.Run();
    [Benchmark] public void Managed() => _managed.Run();
}

/// <summary>W6 sum: 16M floats.</summary>
[MemoryDiagnoser]
public class W6_Sum : PeerBenchmark
{
    private TorchSum _torch = null!;
    private Sum _native = null!, _managed = null!;

    [GlobalSetup(Target = nameof(TorchSharp))] public void SetupTorch() => _torch = SetUpTorch(() => new TorchSum(1 << 24));
    [GlobalSetup(Target = nameof(Native))] public void SetupNative() => _native = SetUp(BackendKind.Native, () => new Sum(1 << 24));
    [GlobalSetup(Target = nameof(Managed))] public void SetupManaged() => _managed = SetUp(BackendKind.Managed, () => new Sum(1 << 24));
    [Benchmark(Baseline = true)] public void TorchSharp() => _torch.Run();
    [Benchmark] public void Native() => _native.Run();
    [Benchmark] public void Managed() => _managed.Run();
}

/// <summary>W7 softmax: softmax / log_softmax over the last dim of 4096x1024, forward and forward + backward.</summary>
[MemoryDiagnoser]
public class W7_Softmax : PeerBenchmark
{
    private TorchSoftmax _torch = null!;
    private Softmax _native = null!, _managed = null!;

    /// <summary>log_softmax instead of softmax.</summary>
    [Params(false, true)]
    public bool Log { get; set; }

    /// <summary>Forward + backward instead of forward only.</summary>
    [Params(false, true)]
    public bool Backward { get; set; }

    [GlobalSetup(Target = nameof(TorchSharp))] public void SetupTorch() => _torch = SetUpTorch(() => new TorchSoftmax(Log, Backward));
    [GlobalSetup(Target = nameof(Native))] public void SetupNative() => _native = SetUp(BackendKind.Native, () => new Softmax(Log, Backward));
    [GlobalSetup(Target = nameof(Managed))] public void SetupManaged() => _managed = SetUp(BackendKind.Managed, () => new Softmax(Log, Backward));
    [Benchmark(Baseline = true)] public void TorchSharp() => _torch.Run();
    [Benchmark] public void Native() => _native.Run();
    [Benchmark] public void Managed() => _managed.Run();
}

/// <summary>Beyond W1-W7: binary_cross_entropy_with_logits (mean) over 1M logits, forward and forward + backward.</summary>
[MemoryDiagnoser]
public class Loss_BceWithLogits : PeerBenchmark
{
    private TorchBceWithLogits _torch = null!;
    private BceWithLogits _native = null!, _managed = null!;

    /// <summary>Forward + backward instead of forward only.</summary>
    [Params(false, true)]
    public bool Backward { get; set; }

    [GlobalSetup(Target = nameof(TorchSharp))] public void SetupTorch() => _torch = SetUpTorch(() => new TorchBceWithLogits(Backward));
    [GlobalSetup(Target = nameof(Native))] public void SetupNative() => _native = SetUp(BackendKind.Native, () => new BceWithLogits(Backward));
    [GlobalSetup(Target = nameof(Managed))] public void SetupManaged() => _managed = SetUp(BackendKind.Managed, () => new BceWithLogits(Backward));
    [Benchmark(Baseline = true)] public void TorchSharp() => _torch.Run();
    [Benchmark] public void Native() => _native.Run();
    [Benchmark] public void Managed() => _managed.Run();
}
