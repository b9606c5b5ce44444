using System.Diagnostics;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Running;
using NativeGrad;
using NativeGrad.Benchmarks.Reporting;

// W1-W7 on libtorch (TorchSharp), NativeGrad native and NativeGrad managed in one BenchmarkDotNet run.
//   dotnet build bench/NativeGrad.Benchmarks.Peers -c Release        (runs torchsharp-fix.sh on the output)
//   dotnet bench/NativeGrad.Benchmarks.Peers/bin/Release/net10.0/NativeGrad.Benchmarks.Peers.dll --filter '*' --job short
// Runs in process (--inProcess is added): BenchmarkDotNet's per-benchmark child builds would copy the unpatched
// libLibTorchSharp.so again. Restarts itself with LD_PRELOAD=libgxxshim.so when the fix script left one here.
// Writes BenchmarkDotNet's reports and results/comparison.md (medians and ratios) under --artifacts.

if (RestartWithShim(args) is { } exitCode) return exitCode;

string? torchFailure = TorchProbe.Failure();
var config = BenchConfig.Create();
if (torchFailure is not null)
{
    string banner = $"""
        ===========================================================================================
        TorchSharp (libtorch) could not be loaded: {torchFailure}
        The TorchSharp column is MISSING from this run: only NativeGrad native and managed are measured.
        On Debian 12: run ../shared/tools/torchsharp-fix.sh BIN_DIR after building (the project's build does
        it when the script is there) and start the program as LD_PRELOAD=BIN_DIR/libgxxshim.so dotnet BIN_DIR/NativeGrad.Benchmarks.Peers.dll
        ===========================================================================================
        """;
    Console.WriteLine(banner);
    Console.Error.WriteLine(banner);
    config = ManualConfig.Union(config, ManualConfig.CreateEmpty().AddFilter(new SimpleFilter(bc => bc.Descriptor.WorkloadMethod.Name != "TorchSharp")));
}
else
{
    Console.WriteLine($"// TorchSharp loaded: libtorch {TorchSharp.torch.__version__}");
}

var runArgs = args.Contains("--inProcess") || args.Contains("-i") ? args : [.. args, "--inProcess"];
var summaries = BenchmarkSwitcher.FromAssembly(typeof(NativeGrad.Benchmarks.Peers.W1_SeedStep).Assembly).Run(runArgs, config).ToList();
if (summaries.Any(s => s.Reports.Length > 0))
{
    string path = Path.Combine(summaries[0].ResultsDirectoryPath, "comparison.md");
    string torch = torchFailure is null ? $"libtorch {TorchSharp.torch.__version__} via TorchSharp 0.107" : $"TorchSharp NOT LOADED ({torchFailure})";
    string heading = $"## W1-W7: NativeGrad vs {torch}\n\nMachine: {MachineInfo.Describe()}; NativeGrad kernels: {NativeKernels()}. " +
                     $"Medians; ratios are NativeGrad / libtorch (lower is better). Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.";
    ComparisonTable.Write(summaries, path, heading);
    Console.WriteLine($"// comparison table: {path}");
}
return torchFailure is null ? 0 : 3;

static string NativeKernels()
{
    if (!Runtime.NativeAvailable) return $"native library not loaded ({Runtime.NativeLoadFailure})";
    using (Runtime.UseBackend(BackendKind.Native)) return Runtime.Kernels;
}

static int? RestartWithShim(string[] args)
{
    if (!OperatingSystem.IsLinux()) return null;
    string shim = Path.Combine(AppContext.BaseDirectory, "libgxxshim.so");
    string preload = Environment.GetEnvironmentVariable("LD_PRELOAD") ?? "";
    if (!File.Exists(shim) || preload.Contains("libgxxshim.so") || Environment.GetEnvironmentVariable("NG_PEERS_RESTARTED") is not null) return null;
    var psi = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet") psi.ArgumentList.Add(typeof(MachineInfo).Assembly.Location);
    foreach (string a in args) psi.ArgumentList.Add(a);
    psi.Environment["LD_PRELOAD"] = preload.Length == 0 ? shim : $"{shim}:{preload}";
    psi.Environment["NG_PEERS_RESTARTED"] = "1";
    using var child = Process.Start(psi)!;
    child.WaitForExit();
    return child.ExitCode;
}

/// <summary>Tries libtorch once, outside the benchmarks.</summary>
internal static class TorchProbe
{
    /// <summary>Null when a TorchSharp tensor op works here, else why not.</summary>
    public static string? Failure()
    {
        try
        {
            using var t = TorchSharp.torch.ones(4);
            using var s = t.sum();
            return s.item<float>() == 4f ? null : "ones(4).sum() != 4";
        }
        catch (Exception e)
        {
            // one line (it goes into the table heading too)
            string message = string.Join(' ', e.GetBaseException().Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            if (message.Length > 300) message = message[..300] + "…";
            return $"{e.GetType().Name}: {message}";
        }
    }
}

/// <summary>The machine, for the table heading.</summary>
internal static class MachineInfo
{
    public static string Describe()
    {
        string cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return $"{cpu}, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";
    }
}
