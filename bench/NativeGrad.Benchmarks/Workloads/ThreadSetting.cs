using System.Diagnostics;
using System.Runtime.InteropServices;

namespace NativeGrad.Benchmarks.Workloads;

/// <summary>
/// The thread count of a benchmark case: the CPU affinity of every thread of the process and the native pool's
/// size (<see cref="Runtime.Threads"/>). The managed backend parallelises with Parallel.For and ignores
/// Runtime.Threads, so a 1-thread case pins the whole process to one core; every implementation (native,
/// managed, libtorch) gets the same pinning.
/// </summary>
/// <remarks>
/// On Linux an affinity applies to one thread, and a new thread inherits its creator's: so every existing thread
/// is set (from /proc/self/task), and before the pool is resized, so that new native workers inherit the mask.
/// </remarks>
public static partial class ThreadSetting
{
    /// <summary>Sets the affinity to <paramref name="threads"/> cores, then the native pool to that many threads.</summary>
    public static void Apply(int threads)
    {
        SetAffinity(threads);
        if (Runtime.NativeAvailable) Runtime.Threads = threads;
    }

    /// <summary>Gives every thread of the process every core again.</summary>
    public static void Reset() => SetAffinity(Environment.ProcessorCount);

    private static void SetAffinity(int cores)
    {
        int n = Math.Clamp(cores, 1, Math.Min(Environment.ProcessorCount, 63));
        ulong mask = (1UL << n) - 1;
        try
        {
            if (OperatingSystem.IsLinux())
            {
                foreach (string task in Directory.GetDirectories("/proc/self/task"))
                    if (int.TryParse(Path.GetFileName(task), out int tid)) SchedSetAffinity(tid, sizeof(ulong), ref mask);
            }
            else if (OperatingSystem.IsWindows())
            {
                Process.GetCurrentProcess().ProcessorAffinity = (nint)mask;
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or System.ComponentModel.Win32Exception or DllNotFoundException)
        {
            Console.Error.WriteLine($"// ThreadSetting: could not set the CPU affinity to {n} core(s): {e.Message}");
        }
    }

    // Errors (a thread that exited meanwhile) are ignored on purpose.
    [LibraryImport("libc", EntryPoint = "sched_setaffinity")]
    private static partial int SchedSetAffinity(int pid, nint cpusetsize, ref ulong mask);
}
