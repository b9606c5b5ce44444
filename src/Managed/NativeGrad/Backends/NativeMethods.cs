using System.Runtime.InteropServices;

[assembly: System.Runtime.CompilerServices.DisableRuntimeMarshalling]

namespace NativeGrad.Backends;

/// <summary>Source-generated bindings to native/include/nativegrad.h. Blittable arguments only.</summary>
internal static unsafe partial class NativeMethods
{
    /// <summary>libnativegrad.so / .dylib / .dll (the "lib" prefix on Windows too: "nativegrad.dll" would clash with
    /// NativeGrad.dll on a case-insensitive file system).</summary>
    public const string Library = "libnativegrad";

    [LibraryImport(Library, EntryPoint = "ng_version")] public static partial int Version();
    [LibraryImport(Library, EntryPoint = "ng_last_error")] public static partial byte* LastError();
    [LibraryImport(Library, EntryPoint = "ng_kernel_path")] public static partial byte* KernelPath();
    [LibraryImport(Library, EntryPoint = "ng_set_kernel_path")] public static partial int SetKernelPath(byte* name);
    [LibraryImport(Library, EntryPoint = "ng_get_threads")] public static partial int GetThreads();
    [LibraryImport(Library, EntryPoint = "ng_set_threads")] public static partial int SetThreads(int n);

    // The same entry points without the GC transition (~5-10 ns of a 16-float op), for calls the backend knows are
    // short: at most SmallCall elements (or multiply-adds), below every parallel threshold, so they never wait for the
    // thread pool, never block and never call back into the runtime.
    [LibraryImport(Library, EntryPoint = "ng_unary"), SuppressGCTransition]
    public static partial int UnarySmall(int dtype, int op, long n, void* x, void* y, double alpha, double beta);

    [LibraryImport(Library, EntryPoint = "ng_binary"), SuppressGCTransition]
    public static partial int BinarySmall(int dtype, int op, int ndim, long* shape, void* a, long* aStrides, void* b, long* bStrides, void* output);

    [LibraryImport(Library, EntryPoint = "ng_copy_strided"), SuppressGCTransition]
    public static partial int CopyStridedSmall(int dtype, int ndim, long* shape, void* src, long* srcStrides, void* dst, long* dstStrides);

    [LibraryImport(Library, EntryPoint = "ng_fill"), SuppressGCTransition]
    public static partial int FillSmall(int dtype, long n, void* dst, double value);

    [LibraryImport(Library, EntryPoint = "ng_reduce"), SuppressGCTransition]
    public static partial int ReduceSmall(int dtype, int op, long outer, long n, long inner, void* x, void* y);

    [LibraryImport(Library, EntryPoint = "ng_gemm"), SuppressGCTransition]
    public static partial int GemmSmall(int dtype, int transA, int transB, long m, long n, long k, double alpha,
                                        void* a, long lda, long strideA, void* b, long ldb, long strideB,
                                        double beta, void* c, long ldc, long strideC, long batch);

    [LibraryImport(Library, EntryPoint = "ng_unary")]
    public static partial int Unary(int dtype, int op, long n, void* x, void* y, double alpha, double beta);

    [LibraryImport(Library, EntryPoint = "ng_binary")]
    public static partial int Binary(int dtype, int op, int ndim, long* shape, void* a, long* aStrides, void* b, long* bStrides, void* output);

    [LibraryImport(Library, EntryPoint = "ng_copy_strided")]
    public static partial int CopyStrided(int dtype, int ndim, long* shape, void* src, long* srcStrides, void* dst, long* dstStrides);

    [LibraryImport(Library, EntryPoint = "ng_fill")]
    public static partial int Fill(int dtype, long n, void* dst, double value);

    [LibraryImport(Library, EntryPoint = "ng_reduce")]
    public static partial int Reduce(int dtype, int op, long outer, long n, long inner, void* x, void* y);

    [LibraryImport(Library, EntryPoint = "ng_softmax")]
    public static partial int Softmax(int dtype, int log, long rows, long cols, void* x, void* y);

    [LibraryImport(Library, EntryPoint = "ng_softmax_backward")]
    public static partial int SoftmaxBackward(int dtype, int log, long rows, long cols, void* y, void* g, void* dx);

    [LibraryImport(Library, EntryPoint = "ng_gemm")]
    public static partial int Gemm(int dtype, int transA, int transB, long m, long n, long k, double alpha,
        void* a, long lda, long strideA, void* b, long ldb, long strideB, double beta, void* c, long ldc, long strideC, long batch);

    [LibraryImport(Library, EntryPoint = "ng_index_select")]
    public static partial int IndexSelect(int dtype, long outer, long dim, long inner, void* x, long* idx, long nidx, void* y);

    [LibraryImport(Library, EntryPoint = "ng_index_add")]
    public static partial int IndexAdd(int dtype, long outer, long dim, long inner, void* x, long* idx, long nidx, void* y);

    [LibraryImport(Library, EntryPoint = "ng_gather")]
    public static partial int Gather(int dtype, long outer, long dim, long inner, void* x, long* idx, void* y);

    [LibraryImport(Library, EntryPoint = "ng_scatter_add")]
    public static partial int ScatterAdd(int dtype, long outer, long dim, long inner, void* x, long* idx, void* y);

    [LibraryImport(Library, EntryPoint = "ng_im2col")]
    public static partial int Im2Col(int dtype, long n, long c, long h, long w, long kh, long kw, long sh, long sw, long ph, long pw, void* x, void* cols);

    [LibraryImport(Library, EntryPoint = "ng_col2im")]
    public static partial int Col2Im(int dtype, long n, long c, long h, long w, long kh, long kw, long sh, long sw, long ph, long pw, void* cols, void* x);

    [LibraryImport(Library, EntryPoint = "ng_maxpool2d")]
    public static partial int MaxPool2d(int dtype, long n, long c, long h, long w, long kh, long kw, long sh, long sw, void* x, void* y, long* idx);
}
