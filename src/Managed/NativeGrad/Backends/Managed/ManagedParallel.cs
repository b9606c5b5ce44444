namespace NativeGrad.Backends;

/// <summary>
/// The body of a parallel loop: a small struct whose fields are what a lambda would have captured. Passed by
/// reference to <see cref="ManagedParallel.For{TBody}(long, int, ref TBody)"/>, so a parallel kernel call allocates
/// neither a closure nor a delegate, and the JIT specialises the loop for each body.
/// </summary>
/// <remarks>
/// <see cref="Invoke"/> runs on several threads at once over the same instance: it must not change the struct
/// (declare bodies <c>readonly struct</c>) and must touch only what item <c>item</c> owns.
/// </remarks>
internal interface IParallelBody
{
    /// <summary>Runs item <paramref name="item"/> (0 &lt;= item &lt; count).</summary>
    void Invoke(long item);
}

/// <summary>
/// The one place the managed kernels go parallel. Honours <see cref="Runtime.Threads"/>: 1 runs every loop inline on
/// the calling thread, n runs on the caller plus at most n - 1 persistent workers of <see cref="ManagedWorkerPool"/>
/// (no allocation, no thread-pool hop). Kernels that reduce split their work into pieces whose boundaries depend
/// only on the sizes, so the result never depends on the thread count (nor on which thread ran which piece).
/// </summary>
internal static class ManagedParallel
{
    private const int MaxThreads = 256; // Runtime.Threads' own limit

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

    /// <summary>body.Invoke(0..count-1), each item exactly once: inline when one thread is allowed (or there is one
    /// item) or when the pool is already running a loop (a nested call from inside a body, or a concurrent call from
    /// another thread), else on the caller and at most <paramref name="threads"/> - 1 pool workers. An exception
    /// thrown by the body is rethrown here once every thread has left the loop.</summary>
    /// <remarks><paramref name="body"/> stays where the caller keeps it (pinned for the call): the workers reach it
    /// through a pointer, so it is never copied or boxed.</remarks>
    public static void For<TBody>(long count, int threads, ref TBody body) where TBody : struct, IParallelBody
    {
        if (threads > 1 && count > 1 && ManagedWorkerPool.TryRun(count, threads, ref body)) return;
        for (long i = 0; i < count; i++) body.Invoke(i);
    }

    /// <summary>body.Invoke(0..count-1) honouring <see cref="Threads"/>.</summary>
    public static void For<TBody>(long count, ref TBody body) where TBody : struct, IParallelBody
        => For(count, Threads, ref body);

    /// <summary>body.Invoke(0..count-1) honouring <see cref="Threads"/>, inline on the caller when the loop is too
    /// little work to share out: <paramref name="count"/> items of <paramref name="workPerItem"/> below
    /// <paramref name="minParallelWork"/> (each kernel measures its own threshold).</summary>
    public static void For<TBody>(long count, long workPerItem, long minParallelWork, ref TBody body) where TBody : struct, IParallelBody
        => For(count, count * workPerItem < minParallelWork ? 1 : Threads, ref body);
}
