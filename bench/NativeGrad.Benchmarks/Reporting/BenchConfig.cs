using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;

namespace NativeGrad.Benchmarks.Reporting;

/// <summary>The configuration both bench programs add to the command line's: medians, allocations, GitHub markdown.</summary>
public static class BenchConfig
{
    /// <summary>BenchmarkDotNet's defaults plus median and GFLOP/s columns, the memory diagnoser and GitHub markdown.</summary>
    public static IConfig Create() => ManualConfig.Create(DefaultConfig.Instance)
        .AddColumn(StatisticColumn.Median)
        .AddColumn(new GflopsColumn())
        .AddDiagnoser(MemoryDiagnoser.Default)
        .AddExporter(MarkdownExporter.GitHub)
        .WithOption(ConfigOptions.JoinSummary, false);
}
