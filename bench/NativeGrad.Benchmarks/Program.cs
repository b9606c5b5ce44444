using BenchmarkDotNet.Running;
using NativeGrad.Benchmarks.Reporting;

// dotnet run --project bench/NativeGrad.Benchmarks -c Release -- --filter '*' [--job short] [--artifacts DIR]
// Besides BenchmarkDotNet's own reports, writes DIR/results/comparison.md: one table of medians and ratios.
var summaries = BenchmarkSwitcher.FromAssembly(typeof(NativeGrad.Benchmarks.KernelBenchmarks).Assembly).Run(args, BenchConfig.Create()).ToList();
if (summaries.Count > 0 && summaries.Any(s => s.Reports.Length > 0))
{
    string path = Path.Combine(summaries[0].ResultsDirectoryPath, "comparison-native-managed.md");
    ComparisonTable.Write(summaries, path, $"## NativeGrad native vs managed ({Environment.MachineName}, {DateTime.UtcNow:yyyy-MM-dd})");
    Console.WriteLine($"// comparison table: {path}");
}
