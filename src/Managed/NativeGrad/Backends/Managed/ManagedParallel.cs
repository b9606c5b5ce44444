namespace NativeGrad.Backends;

/// <summary>
/// The one place the managed kernels go parallel. Honours <see cref="Runtime.Threads"/>: 1 runs every loop inline on
/// the calling thread (no Parallel.For, no thread-pool hop), n runs at most n workers (the caller included) through
/// a <see cref="ParallelOptions"/> cached per thread count. Kernels that reduce split their work into pieces whose
/// boundaries depend only on the sizes, so the result never depends on the thread count.
/// </summary>
internal static class ManagedParallel
{
    private const int MaxThreads = 256; // Runtime.Threads' own limit

    private static readonly ParallelOptions?[] Options = new ParallelOptions?[MaxThreads + 1];

    /// <summary>The worker count the managed kernels may use now: <see cref="Runtime.Threads"/> (the native pool's
    /// setting when libnativegrad is loaded, else the core count), clamped to [1, 256].</summary>
    public static int Threads
    {
        get
        {
            int t = Runtime.Threads;
            return t <= 1 ? 1 : t > MaxThreads ? MaxThreads : t;
        }
    }

    /// <summary>Options limiting Parallel.For to <paramref name="threads"/> workers (cached: no allocation per call).</summary>
    public static ParallelOptions OptionsFor(int threads)
    {
        threads = Math.Clamp(threads, 1, MaxThreads);
        return Options[threads] ??= new ParallelOptions { MaxDegreeOfParallelism = threads };
    }

    /// <summary>body(0..count-1): inline when one thread is allowed (or there is one item), else on at most
    /// <paramref name="threads"/> workers.</summary>
    public static void For(long count, int threads, Action<long> body)
    {
        if (threads <= 1 || count <= 1)
        {
            for (long i = 0; i < count; i++) body(i);
            return;
        }
        Parallel.For(0, count, OptionsFor(threads), body);
    }

    /// <summary>body(0..count-1) honouring <see cref="Threads"/>.</summary>
    public static void For(long count, Action<long> body) => For(count, Threads, body);
}
