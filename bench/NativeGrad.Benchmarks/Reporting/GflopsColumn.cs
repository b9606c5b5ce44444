using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace NativeGrad.Benchmarks.Reporting;

/// <summary>GFLOP/s of a square GEMM benchmark with an <c>N</c> parameter: 2 N³ / median time.</summary>
public sealed class GflopsColumn : IColumn
{
    /// <summary>2 N³ flops of the case, or null when it has no integer N parameter.</summary>
    public static double? Flops(BenchmarkCase benchmarkCase)
        => benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == "N")?.Value is int n ? 2.0 * n * n * n : null;

    public string Id => nameof(GflopsColumn);
    public string ColumnName => "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "2 N^3 / median time, in GFLOP/s";
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => summary.BenchmarksCases.Any(c => Flops(c) is not null);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        return Flops(benchmarkCase) is { } flops && stats is not null ? (flops / stats.Median).ToString("F1") : "-";
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
}
