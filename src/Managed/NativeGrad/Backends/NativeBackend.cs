using System.Reflection;
using System.Runtime.InteropServices;

namespace NativeGrad.Backends;

/// <summary>The default backend: the C core (libnativegrad) with AVX2/AVX-512 kernels and a persistent thread pool.</summary>
internal sealed unsafe class NativeBackend : IBackend
{
    private const int ExpectedAbiVersion = 1;

    private NativeBackend() { }

    public string Name => "native";

    public string KernelPath => Utf8(NativeMethods.KernelPath());

    /// <summary>Loads libnativegrad; null (with the reason) when it cannot be loaded here.</summary>
    public static NativeBackend? TryLoad(out string? failure)
    {
        try
        {
            NativeLibraryResolver.Register();
            int version = NativeMethods.Version();
            if (version != ExpectedAbiVersion)
            {
                failure = $"libnativegrad has ABI version {version}, this assembly needs {ExpectedAbiVersion}";
                return null;
            }
            failure = null;
            return new NativeBackend();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            failure = e.Message;
            return null;
        }
    }

    internal static string Utf8(byte* text) => Marshal.PtrToStringUTF8((nint)text) ?? "";

    internal static string Utf8Error() => Utf8(NativeMethods.LastError());

    private static void Check(int status, string function)
    {
        if (status == 0) return;
        string message = Utf8(NativeMethods.LastError());
        throw status switch
        {
            1 => new ArgumentException($"{function}: {message}"),
            3 => new OutOfMemoryException($"{function}: {message}"),
            4 => new IndexOutOfRangeException($"{function}: {message}"),
            _ => new NotSupportedException($"{function}: {message}"),
        };
    }

    /// <summary>
    /// Calls of at most this many elements (multiply-adds for GEMM) skip the GC transition (SuppressGCTransition):
    /// about a microsecond of work at most, far below the kernels' parallel thresholds.
    /// </summary>
    private const long SmallCall = 4096;

    /// <summary>
    /// Calls this small (elements copied or filled, multiply-adds of a product) run in C# here: the call and the C side's
    /// checks would cost more than the work. Same operations in the same order as the C kernels: bitwise equal (tested).
    /// </summary>
    private const long TinyCall = 64;

    private static long Elements(ReadOnlySpan<long> shape)
    {
        long n = 1;
        foreach (long d in shape) n *= d; // validated by the caller's tensor; an overflowed product only loses the fast path
        return n < 0 ? long.MaxValue : n;
    }

    public void Unary(DType dtype, UnaryOp op, long n, void* x, void* y, double alpha, double beta)
        => Check(n <= SmallCall
            ? NativeMethods.UnarySmall((int)dtype, (int)op, n, x, y, alpha, beta)
            : NativeMethods.Unary((int)dtype, (int)op, n, x, y, alpha, beta), "ng_unary");

    public void Binary(DType dtype, BinaryOp op, ReadOnlySpan<long> shape, void* a, ReadOnlySpan<long> aStrides, void* b, ReadOnlySpan<long> bStrides, void* output)
    {
        fixed (long* s = shape, sa = aStrides, sb = bStrides)
            Check(Elements(shape) <= SmallCall
                ? NativeMethods.BinarySmall((int)dtype, (int)op, shape.Length, s, a, sa, b, sb, output)
                : NativeMethods.Binary((int)dtype, (int)op, shape.Length, s, a, sa, b, sb, output), "ng_binary");
    }

    public void CopyStrided(DType dtype, ReadOnlySpan<long> shape, void* src, ReadOnlySpan<long> srcStrides, void* dst, ReadOnlySpan<long> dstStrides)
    {
        if (shape.Length <= 1 && (shape.Length == 0 || (srcStrides[0] == 1 && dstStrides[0] == 1 && shape[0] <= TinyCall)))
        {
            long bytes = (shape.Length == 0 ? 1 : shape[0]) * dtype.ElementSize(); // a few contiguous elements: a memcpy, no call
            Buffer.MemoryCopy(src, dst, bytes, bytes);
            return;
        }
        fixed (long* s = shape, ss = srcStrides, ds = dstStrides)
            Check(Elements(shape) <= SmallCall
                ? NativeMethods.CopyStridedSmall(NativeDType(dtype), shape.Length, s, src, ss, dst, ds)
                : NativeMethods.CopyStrided(NativeDType(dtype), shape.Length, s, src, ss, dst, ds), "ng_copy_strided");
    }

    public void Fill(DType dtype, long n, void* dst, double value)
    {
        if (dtype == DType.Int64) { new Span<long>(dst, checked((int)n)).Fill((long)value); return; }
        if (n >= 0 && n <= TinyCall)
        {
            // e.g. a root gradient: a few elements are cheaper to write than to call for (same conversion as ng_fill)
            if (dtype == DType.Float32) new Span<float>(dst, (int)n).Fill((float)value);
            else new Span<double>(dst, (int)n).Fill(value);
            return;
        }
        Check(n <= SmallCall ? NativeMethods.FillSmall((int)dtype, n, dst, value) : NativeMethods.Fill((int)dtype, n, dst, value), "ng_fill");
    }

    public void Reduce(DType dtype, ReduceOp op, long outer, long n, long inner, void* x, void* y)
        => Check((double)outer * Math.Max(n, 1) * inner <= SmallCall
            ? NativeMethods.ReduceSmall((int)dtype, (int)op, outer, n, inner, x, y)
            : NativeMethods.Reduce((int)dtype, (int)op, outer, n, inner, x, y), "ng_reduce");

    public void Softmax(DType dtype, bool log, long rows, long cols, void* x, void* y)
        => Check(NativeMethods.Softmax((int)dtype, log ? 1 : 0, rows, cols, x, y), "ng_softmax");

    /// <summary>
    /// The fused backward of <see cref="Softmax"/> (ng_softmax_backward): dx = y (g - Σ g y), or for log_softmax
    /// dx = g - exp(y) Σ g, one pass per row. Not yet on <see cref="IBackend"/>; see docs/benchmarks.md (W7).
    /// </summary>
    public void SoftmaxBackward(DType dtype, bool log, long rows, long cols, void* y, void* g, void* dx)
        => Check(NativeMethods.SoftmaxBackward((int)dtype, log ? 1 : 0, rows, cols, y, g, dx), "ng_softmax_backward");

    public void Gemm(DType dtype, bool transA, bool transB, long m, long n, long k, double alpha, void* a, long lda, long strideA,
                     void* b, long ldb, long strideB, double beta, void* c, long ldc, long strideC, long batch)
    {
        if (batch == 1 && m > 0 && n > 0 && k > 0 && (double)m * n * k <= TinyCall && beta == 0 && dtype != DType.Int64)
        {
            // A few multiply-adds (a vector times a 5x3 weight): the call and its checks would cost more than the math.
            // The native tiny loop, in the same order without FMA (-ffp-contract=off there): bitwise the same result.
            long rsa = transA ? 1 : lda, csa = transA ? lda : 1, rsb = transB ? 1 : ldb, csb = transB ? ldb : 1;
            if (dtype == DType.Float32) TinyGemmLoop((float*)a, rsa, csa, (float*)b, rsb, csb, (float*)c, ldc, m, n, k, (float)alpha);
            else TinyGemmLoop((double*)a, rsa, csa, (double*)b, rsb, csb, (double*)c, ldc, m, n, k, alpha);
            return;
        }
        Check((double)m * n * Math.Max(k, 1) * batch <= SmallCall
            ? NativeMethods.GemmSmall((int)dtype, transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, strideA, b, ldb, strideB,
                                      beta, c, ldc, strideC, batch)
            : NativeMethods.Gemm((int)dtype, transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, strideA, b, ldb, strideB,
                                 beta, c, ldc, strideC, batch), "ng_gemm");
    }


    private static void TinyGemmLoop<T>(T* a, long rsa, long csa, T* b, long rsb, long csb, T* c, long ldc, long m, long n, long k, T alpha)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j++)
            {
                T acc = T.Zero;
                for (long p = 0; p < k; p++) acc += a[i * rsa + p * csa] * b[p * rsb + j * csb];
                c[i * ldc + j] = alpha * acc;
            }
    }

    public void IndexSelect(DType dtype, long outer, long dim, long inner, void* x, long* idx, long nidx, void* y)
        => Check(NativeMethods.IndexSelect(NativeDType(dtype), outer, dim, inner, x, idx, nidx, y), "ng_index_select");

    public void IndexAdd(DType dtype, long outer, long dim, long inner, void* x, long* idx, long nidx, void* y)
        => Check(NativeMethods.IndexAdd((int)dtype, outer, dim, inner, x, idx, nidx, y), "ng_index_add");

    public void Gather(DType dtype, long outer, long dim, long inner, void* x, long* idx, void* y)
        => Check(NativeMethods.Gather((int)dtype, outer, dim, inner, x, idx, y), "ng_gather");

    public void ScatterAdd(DType dtype, long outer, long dim, long inner, void* x, long* idx, void* y)
        => Check(NativeMethods.ScatterAdd((int)dtype, outer, dim, inner, x, idx, y), "ng_scatter_add");

    public void Im2Col(DType dtype, long n, long c, long h, long w, long kh, long kw, long sh, long sw, long ph, long pw, void* x, void* cols)
        => Check(NativeMethods.Im2Col((int)dtype, n, c, h, w, kh, kw, sh, sw, ph, pw, x, cols), "ng_im2col");

    public void Col2Im(DType dtype, long n, long c, long h, long w, long kh, long kw, long sh, long sw, long ph, long pw, void* cols, void* x)
        => Check(NativeMethods.Col2Im((int)dtype, n, c, h, w, kh, kw, sh, sw, ph, pw, cols, x), "ng_col2im");

    public void MaxPool2d(DType dtype, long n, long c, long h, long w, long kh, long kw, long sh, long sw, void* x, void* y, long* idx)
        => Check(NativeMethods.MaxPool2d((int)dtype, n, c, h, w, kh, kw, sh, sw, x, y, idx), "ng_maxpool2d");

    /// <summary>Int64 data moves as float64-sized words: copies and selections are bit-exact either way.</summary>
    private static int NativeDType(DType dtype) => dtype == DType.Int64 ? (int)DType.Float64 : (int)dtype;
}

/// <summary>Finds libnativegrad next to the assembly, in the app folder or in a NuGet runtimes/{rid}/native folder.</summary>
internal static class NativeLibraryResolver
{
    private static int _registered;

    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1) return;
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve);
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != NativeMethods.Library) return 0;
        string file = OperatingSystem.IsWindows() ? "libnativegrad.dll" : OperatingSystem.IsMacOS() ? "libnativegrad.dylib" : "libnativegrad.so";
        var candidates = new List<string>();
        string? overridePath = Environment.GetEnvironmentVariable("NATIVEGRAD_NATIVE_PATH");
        if (!string.IsNullOrEmpty(overridePath)) candidates.Add(Directory.Exists(overridePath) ? Path.Combine(overridePath, file) : overridePath);
        foreach (string? dir in new[] { Path.GetDirectoryName(assembly.Location), AppContext.BaseDirectory })
        {
            if (string.IsNullOrEmpty(dir)) continue;
            candidates.Add(Path.Combine(dir, file));
            candidates.Add(Path.Combine(dir, "runtimes", RuntimeInformation.RuntimeIdentifier, "native", file));
            candidates.Add(Path.Combine(dir, "runtimes", PortableRid(), "native", file));
        }
        foreach (string path in candidates)
        {
            if (File.Exists(path) && NativeLibrary.TryLoad(path, out nint handle)) return handle;
        }
        return NativeLibrary.TryLoad(name, assembly, searchPath, out nint fallback) ? fallback : 0;
    }

    private static string PortableRid()
    {
        string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        string arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.Arm64 => "arm64",
            Architecture.X86 => "x86",
            _ => RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant(),
        };
        return $"{os}-{arch}";
    }
}
