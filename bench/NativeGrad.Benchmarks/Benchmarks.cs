using BenchmarkDotNet.Attributes;
using NativeGrad.Benchmarks.Workloads;

namespace NativeGrad.Benchmarks;

// W1-W7 of issue 5 on the native and the managed backend (ratio column: managed / native), at 1 and 2 threads.
// The same workloads against libtorch (TorchSharp) are in bench/NativeGrad.Benchmarks.Peers.

/// <summary>The part every workload benchmark shares: the thread count and the setup on each backend.</summary>
public abstract class BackendBenchmark
{
    /// <summary>Threads of the native pool; 1 also pins the process to one core (see <see cref="ThreadSetting"/>).</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    private readonly List<IDisposable> _workloads = [];

    /// <summary>Chooses the backend and thread count, then builds the workload on that backend.</summary>
    protected T SetUp<T>(BackendKind backend, Func<T> create) where T : IDisposable
    {
        ThreadSetting.Apply(Threads);
        Runtime.Backend = backend;
        return Track(create());
    }

    /// <summary><see cref="SetUp{T}"/> with <see cref="Runtime.RecycleTensors"/> on (until <see cref="Cleanup"/>).</summary>
    protected T SetUpRecycling<T>(BackendKind backend, Func<T> create) where T : IDisposable
    {
        Runtime.RecycleTensors = true;
        return SetUp(backend, create);
    }

    /// <summary>Disposes <paramref name="workload"/> when the case ends (<see cref="Cleanup"/>).</summary>
    protected T Track<T>(T workload) where T : IDisposable
    {
        _workloads.Add(workload);
        return workload;
    }

    /// <summary>
    /// Disposes the case's workloads, then gives the process every core back and turns recycling off. A case run in
    /// process (the peer run) must leave nothing to the GC: see the note in NativeGradWorkloads.cs.
    /// </summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var workload in _workloads) workload.Dispose();
        _workloads.Clear();
        ThreadSetting.Reset();
        Runtime.RecycleTensors = false;
    }
}

/// <summary>W1 seed-step.</summary>
[MemoryDiagnoser]
public class W1_SeedStep : BackendBenchmark
{
    private SeedStep _native = null!, _managed = null!;

    [GlobalSetup(Target = nameof(Native))] public void SetupNative() => _native = SetUp(BackendKind.Native, () => new SeedStep());
    [GlobalSetup(Target = nameof(Managed))] public void SetupManaged() => _managed = SetUp(BackendKind.Managed, () => new SeedStep());
    [Benchmark(Baseline = true)] public void Native() => _native.Run();
    [Benchmark] public void Managed() => _managed.Run();
}

/// <summary>W2 tiny-op: 16-float add, without and with grad.</summary>
[MemoryDiagnoser]
public class W2_TinyOp : BackendBenchmark
{
    private TinyOp _native = null!, _managed = null!;

    /// <summary>Whether a requires grad (the op is then recorded in the graph).</summary>
    [Params(false, true)]
    public bool Grad { get; set; }

    [GlobalSetup(Target = nameof(Native))] public void SetupNative() => _native = SetUp(BackendKind.Native, () => new TinyOp(Grad));
    [GlobalSetup(Target = nameof(Managed))] public void SetupManaged() => _managed = SetUp(BackendKind.Managed, () => new TinyOp(Grad));
    [Benchmark(Baseline = true)] public void Native() => _native.Run();
    [Benchmark] public void Managed() => _managed.Run();
}

/// <summary>W3 elementwise: add, mul, exp, tanh out of place at 1M and 16M floats.</summary>
[MemoryDiagnoser]
public class W3_Elementwise : BackendBenchmark
{
    private Elementwise _native = null!, _managed = null!;

    /// <summary>The op.</summary>
    [Params("add", "mul", "exp", "tanh")]
    public string Op { get; set; } = "add";

    /// <summary>Elements.</summary>
    [Params(1 << 20, 1 << 24)]
    public int Size { get; set; }

    [GlobalSetup(Target = nameof(Native))] public void SetupNative() => _native = SetUp(BackendKind.Native, () => new Elementwise(Op, Size));
    [GlobalSetup(Target = nameof(Managed))] public void SetupManaged() => _managed = SetUp(BackendKind.Managed, () => new Elementwise(Op, Size));
    [Benchmark(Baseline = true)] public void Native() => _native.Run();
    [Benchmark] public void Managed() => _managed.Run();
}

/// <summary>W4 gemm: square float32 matmul (GFLOP/s column).</summary>
[MemoryDiagnoser]
public class W4_Gemm : BackendBenchmark
{
    private Gemm _native = null!, _managed = null!;

    /// <summary>Matrix size.</summary>
    [Params(64, 128, 256, 512, 1024, 2048)]
    public int N { get; set; }

    [GlobalSetup(Target = nameof(Native))] public void SetupNative() => _native = SetUp(BackendKind.Native, () => new Gemm(N));
    [GlobalSetup(Target = nameof(Managed))] public void SetupManaged() => _managed = SetUp(BackendKind.Managed, () => new Gemm(N));
    [Benchmark(Baseline = true)] public void Native() => _native.Run();
    [Benchmark] public void Managed() => _managed.Run();
}

/// <summary>W5 mlp-step: 784-512-256-10 ReLU MLP, batch 128, cross_entropy, forward + backward + SGD.</summary>
[MemoryDiagnoser]
public class W5_MlpStep : BackendBenchmark
{
    private MlpStep _native = null!, _managed = null!;

    [GlobalSetup(Target = nameof(Native))] public void SetupNative() => _native = SetUp(BackendKind.Native, () => new MlpStep());
    [GlobalSetup(Target = nameof(Managed))] public void SetupManaged() => _managed = SetUp(BackendKind.Managed, () => new MlpStep());
    [Benchmark(Baseline = true)] public void Native() => _native.Run();
    [Benchmark] public void Managed() => _managed.Run();
}

/// <summary>W6 sum: 16M floats.</summary>
[MemoryDiagnoser]
public class W6_Sum : BackendBenchmark
{
    private Sum _native = null!, _managed = null!;

    [GlobalSetup(Target = nameof(Native))] public void SetupNative() => _native = SetUp(BackendKind.Native, () => new Sum(1 << 24));
    [GlobalSetup(Target = nameof(Managed))] public void SetupManaged() => _managed = SetUp(BackendKind.Managed, () => new Sum(1 << 24));
    [Benchmark(Baseline = true)] public void Native() => _native.Run();
    [Benchmark] public void Managed() => _managed.Run();
}

/// <summary>W7 softmax: softmax / log_softmax over the last dim of 4096x1024, forward and forward + backward.</summary>
[MemoryDiagnoser]
public class W7_Softmax : BackendBenchmark
{
    private Softmax _native = null!, _managed = null!;

    /// <summary>log_softmax instead of softmax.</summary>
    [Params(false, true)]
    public bool Log { get; set; }

    /// <summary>Forward + backward instead of forward only.</summary>
    [Params(false, true)]
    public bool Backward { get; set; }

    [GlobalSetup(Target = nameof(Native))] public void SetupNative() => _native = SetUp(BackendKind.Native, () => new Softmax(Log, Backward));
    [GlobalSetup(Target = nameof(Managed))] public void SetupManaged() => _managed = SetUp(BackendKind.Managed, () => new Softmax(Log, Backward));
    [Benchmark(Baseline = true)] public void Native() => _native.Run();
    [Benchmark] public void Managed() => _managed.Run();
}
