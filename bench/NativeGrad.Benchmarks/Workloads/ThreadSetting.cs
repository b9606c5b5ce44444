using System.Diagnostics;

namespace NativeGrad.Benchmarks.Workloads;

/// <summary>
/// The thread count of a benchmark case: the native pool's (<see cref="Runtime.Threads"/>) and the process's CPU
/// affinity. The managed backend parallelises with Parallel.For and ignores Runtime.Threads, so a 1-thread case
/// also pins the process to one core; every implementation (native, managed, libtorch) gets the same pinning.
/// </summary>
public static class ThreadSetting
{
    /// <summary>Sets the native pool to <paramref name="threads"/> and the affinity to that many cores.</summary>
    public static void Apply(int threads)
    {
        if (Runtime.NativeAvailable) Runtime.Threads = threads;
        SetAffinity(threads);
    }

    /// <summary>Gives the process every core again.</summary>
    public static void Reset() => SetAffinity(Environment.ProcessorCount);

    private static void SetAffinity(int cores)
    {
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsWindows())) return;
        int n = Math.Clamp(cores, 1, Math.Min(Environment.ProcessorCount, 63));
        try { Process.GetCurrentProcess().ProcessorAffinity = (nint)((1L << n) - 1); }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or PlatformNotSupportedException)
        {
            Console.Error.WriteLine($"// ThreadSetting: could not set the CPU affinity to {n} core(s): {e.Message}");
        }
    }
}
