using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using NativeGrad.Backends;
using NativeGrad.Benchmarks.Workloads;

namespace NativeGrad.Benchmarks;

/// <summary>
/// Kernel micro-benchmarks, native vs managed: the backend seam (IBackend) called directly on preallocated
/// 64-byte aligned buffers, so no tensor, graph or allocation cost is in the numbers: what is left is the kernel
/// (and, for native, the P/Invoke transition).
/// </summary>
[MemoryDiagnoser]
public unsafe class KernelBenchmarks
{
    private IBackend _native = null!, _managed = null!;
    private float* _x, _y, _z, _w;
    private long _n, _rows, _cols, _gemmN;
    private long[] _shape = [], _strides = [];

    /// <summary>Native pool threads; 1 also pins the process to one core.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    /// <summary>The kernel and its size.</summary>
    [Params("fill-1M", "add-1M", "exp-1M", "tanh-1M", "sigmoid-1M", "relu-1M", "sin-1M", "bce-1M", "add-bcast-4096x1024", "sum-16M",
            "sum-rows-4096x1024", "sum-cols-4096x1024", "softmax-4096x1024", "logsoftmax-4096x1024",
            "gemm-16", "gemm-128", "gemm-512", "gemm-tn-512", "gemm-nt-512", "copy-transpose-1024")]
    public string Kernel { get; set; } = "add-1M";

    [GlobalSetup]
    public void Setup()
    {
        ThreadSetting.Apply(Threads);
        using (Runtime.UseBackend(BackendKind.Native)) _native = Runtime.Current;
        using (Runtime.UseBackend(BackendKind.Managed)) _managed = Runtime.Current;
        _n = 1 << 24;
        _x = Alloc(_n);
        _y = Alloc(_n);
        _z = Alloc(_n);
        _w = Alloc(_n);
        var rng = new Random(1);
        for (long i = 0; i < _n; i++) { _x[i] = (float)(rng.NextDouble() * 4 - 2); _y[i] = (float)(rng.NextDouble() * 4 - 2); }
        if (Kernel == "bce-1M") for (long i = 0; i < 1 << 20; i++) _w[i] = (float)rng.NextDouble(); // probabilities
        (_rows, _cols) = (4096, 1024);
        _gemmN = Kernel.StartsWith("gemm", StringComparison.Ordinal) ? long.Parse(Kernel[(Kernel.LastIndexOf('-') + 1)..]) : 0;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var p in new[] { _x, _y, _z, _w }) NativeMemory.AlignedFree(p);
        ThreadSetting.Reset();
    }

    private static float* Alloc(long n) => (float*)NativeMemory.AlignedAlloc((nuint)(n * sizeof(float)), 64);

    [Benchmark(Baseline = true)] public void Native() => Run(_native);
    [Benchmark] public void Managed() => Run(_managed);

    private void Run(IBackend b)
    {
        const long M = 1 << 20;
        switch (Kernel)
        {
            case "fill-1M": b.Fill(DType.Float32, M, _z, 1.5); break;
            case "add-1M": b.Binary(DType.Float32, BinaryOp.Add, [M], _x, [1], _y, [1], _z); break;
            case "exp-1M": b.Unary(DType.Float32, UnaryOp.Exp, M, _x, _z, 0, 0); break;
            case "tanh-1M": b.Unary(DType.Float32, UnaryOp.Tanh, M, _x, _z, 0, 0); break;
            case "sigmoid-1M": b.Unary(DType.Float32, UnaryOp.Sigmoid, M, _x, _z, 0, 0); break;
            case "relu-1M": b.Unary(DType.Float32, UnaryOp.Relu, M, _x, _z, 0, 0); break;
            case "sin-1M": b.Unary(DType.Float32, UnaryOp.Sin, M, _x, _z, 0, 0); break;
            case "bce-1M": b.Binary(DType.Float32, BinaryOp.BceWithLogits, [M], _x, [1], _w, [1], _z); break; // targets in [0, 1]
            case "add-bcast-4096x1024": b.Binary(DType.Float32, BinaryOp.Add, [_rows, _cols], _x, [_cols, 1], _y, [0, 1], _z); break;
            case "sum-16M": b.Reduce(DType.Float32, ReduceOp.Sum, 1, _n, 1, _x, _z); break;
            case "sum-rows-4096x1024": b.Reduce(DType.Float32, ReduceOp.Sum, _rows, _cols, 1, _x, _z); break;
            case "sum-cols-4096x1024": b.Reduce(DType.Float32, ReduceOp.Sum, 1, _rows, _cols, _x, _z); break;
            case "softmax-4096x1024": b.Softmax(DType.Float32, false, _rows, _cols, _x, _z); break;
            case "logsoftmax-4096x1024": b.Softmax(DType.Float32, true, _rows, _cols, _x, _z); break;
            case "gemm-16": case "gemm-128": case "gemm-512":
                b.Gemm(DType.Float32, false, false, _gemmN, _gemmN, _gemmN, 1, _x, _gemmN, 0, _y, _gemmN, 0, 0, _z, _gemmN, 0, 1); break;
            case "gemm-tn-512": // Aᵀ G, as in the weight gradient
                b.Gemm(DType.Float32, true, false, _gemmN, _gemmN, _gemmN, 1, _x, _gemmN, 0, _y, _gemmN, 0, 0, _z, _gemmN, 0, 1); break;
            case "gemm-nt-512": // G Bᵀ, as in the input gradient
                b.Gemm(DType.Float32, false, true, _gemmN, _gemmN, _gemmN, 1, _x, _gemmN, 0, _y, _gemmN, 0, 0, _z, _gemmN, 0, 1); break;
            case "copy-transpose-1024":
                b.CopyStrided(DType.Float32, [1024, 1024], _x, [1, 1024], _z, [1024, 1]); break;
            default: throw new ArgumentException(Kernel);
        }
    }
}
