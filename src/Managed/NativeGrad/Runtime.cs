using NativeGrad.Backends;
using NativeGrad.Storage;

namespace NativeGrad;

/// <summary>Which kernel implementation runs the ops.</summary>
public enum BackendKind
{
    /// <summary>The C core, libnativegrad (AVX-512/AVX2/scalar chosen by CPUID). The default.</summary>
    Native,
    /// <summary>The portable C# implementation of the same kernels.</summary>
    Managed,
}

/// <summary>
/// Process-wide runtime settings: the backend, the native kernel path, the thread count.
/// </summary>
/// <example>
/// <code>
/// Console.WriteLine($"{Runtime.Backend} ({Runtime.Kernels})"); // Native (avx512)
/// using (Runtime.UseBackend(BackendKind.Managed)) { /* ops here run on the managed kernels */ }
/// </code>
/// </example>
public static class Runtime
{
    private static readonly Lazy<(NativeBackend? Backend, string? Failure)> Native = new(() =>
    {
        var backend = NativeBackend.TryLoad(out string? failure);
        return (backend, failure);
    });

    private static BackendKind _default = ChooseDefault();
    private static IBackend? _defaultBackend; // _default resolved (null until first use), read once per kernel call

    [ThreadStatic] private static IBackend? _threadOverride;
    private static volatile bool _overridden; // set once any thread used UseBackend: until then no thread-static read per op

    private static BackendKind ChooseDefault()
    {
        string? requested = Environment.GetEnvironmentVariable("NATIVEGRAD_BACKEND");
        if (string.Equals(requested, "managed", StringComparison.OrdinalIgnoreCase)) return BackendKind.Managed;
        return Native.Value.Backend is null ? BackendKind.Managed : BackendKind.Native;
    }

    /// <summary>True when libnativegrad was found and loaded.</summary>
    public static bool NativeAvailable => Native.Value.Backend is not null;

    /// <summary>Why the native library could not be loaded (null when it was).</summary>
    public static string? NativeLoadFailure => Native.Value.Failure;

    /// <summary>
    /// The backend used by this thread. Defaults to <see cref="BackendKind.Native"/>, or <see cref="BackendKind.Managed"/>
    /// when <c>NATIVEGRAD_BACKEND=managed</c> or the native library cannot be loaded. Setting it changes the process default.
    /// </summary>
    public static BackendKind Backend
    {
        get => (_overridden ? _threadOverride : null) is not { } over ? _default : (over.Name == "native" ? BackendKind.Native : BackendKind.Managed);
        set
        {
            var backend = Resolve(value);
            _default = backend is NativeBackend ? BackendKind.Native : BackendKind.Managed;
            _defaultBackend = backend;
        }
    }

    /// <summary>The SIMD path of the current backend: "avx512", "avx2" or "scalar" for native; "managed-…" otherwise.</summary>
    public static string Kernels => Current.KernelPath;

    private static int _managedThreads = Environment.ProcessorCount;

    /// <summary>
    /// Worker threads of the kernels, native pool and managed backend alike (default: the machine's cores). 1 runs
    /// every kernel on the calling thread. Results do not depend on it (reductions use fixed blocks).
    /// </summary>
    public static int Threads
    {
        get => NativeAvailable ? NativeMethods.GetThreads() : Volatile.Read(ref _managedThreads);
        set
        {
            if (value < 1 || value > 256) throw new ArgumentOutOfRangeException(nameof(value), value, "Threads must be between 1 and 256.");
            if (NativeAvailable && NativeMethods.SetThreads(value) != 0)
                throw new InvalidOperationException(NativeBackend.Utf8Error());
            Volatile.Write(ref _managedThreads, value); // the managed backend's setting when no native library is loaded
        }
    }

    private static volatile bool _recycleTensors = string.Equals(Environment.GetEnvironmentVariable("NATIVEGRAD_RECYCLE_TENSORS"), "1", StringComparison.Ordinal);

    /// <summary>
    /// Reuse the objects of disposed tensors for new ones (default false; <c>NATIVEGRAD_RECYCLE_TENSORS=1</c> turns it on
    /// at start-up). A loop whose temporaries are disposed (by <c>using</c>, a <see cref="TensorScope"/>, or
    /// <see cref="Tensor.ZeroGrad"/>) then creates no Tensor objects in steady state, as <c>out=</c> calls do.
    /// The price is .NET's pooling contract (as with <see cref="System.Buffers.ArrayPool{T}"/>): a reference used after
    /// its tensor's Dispose, or disposed a second time, may meet another tensor that reuses the object instead of an
    /// <see cref="ObjectDisposedException"/>. Turn it on only for code that drops its references on Dispose.
    /// Tensors the graph or an optimizer can still reach (saved for backward, leaves that require grad, tensors with
    /// hooks or retained grads) are never reused.
    /// </summary>
    public static bool RecycleTensors
    {
        get => _recycleTensors;
        set => _recycleTensors = value;
    }

    /// <summary>Runs the ops of this thread on <paramref name="kind"/> until the returned scope is disposed.</summary>
    public static BackendScope UseBackend(BackendKind kind)
    {
        var previous = _threadOverride;
        _overridden = true;
        _threadOverride = Resolve(kind);
        return new BackendScope(previous);
    }

    /// <summary>Restores the previous backend of the thread on Dispose.</summary>
    public readonly struct BackendScope : IDisposable
    {
        private readonly IBackend? _previous;
        internal BackendScope(IBackend? previous) => _previous = previous;
        /// <summary>Restores the previous backend.</summary>
        public void Dispose() => _threadOverride = _previous;
    }

    internal static IBackend Current => (_overridden ? _threadOverride : null) ?? _defaultBackend ?? (_defaultBackend = Resolve(_default));

    private static IBackend Resolve(BackendKind kind)
    {
        if (kind == BackendKind.Managed) return ManagedBackend.Instance;
        return Native.Value.Backend ?? throw new InvalidOperationException(
            $"The native backend is not available: {Native.Value.Failure}. Use BackendKind.Managed.");
    }
}
