using System.Globalization;
using System.Text;
using BenchmarkDotNet.Reports;

namespace NativeGrad.Benchmarks.Reporting;

/// <summary>
/// One markdown table across every summary of a run: a row per workload case (type + parameters), a column per
/// implementation (benchmark method: TorchSharp, Native, Managed), medians, the ratios to the baseline method and
/// managed/native, allocations per op, and GFLOP/s where the case has an N (GEMM).
/// </summary>
public static class ComparisonTable
{
    private static readonly string[] Order = ["TorchSharp", "Native", "Managed"];

    /// <summary>Writes the table to <paramref name="path"/> and returns its text.</summary>
    public static string Write(IEnumerable<Summary> summaries, string path, string heading)
    {
        var rows = new List<(string Workload, string Params, Dictionary<string, (double Median, long? Alloc, double? Gflops)> Cells)>();
        var methods = new List<string>();
        foreach (var summary in summaries)
        {
            foreach (var group in summary.BenchmarksCases.GroupBy(c => (c.Descriptor.Type.Name, c.Parameters.DisplayInfo)))
            {
                var cells = new Dictionary<string, (double, long?, double?)>();
                foreach (var bc in group)
                {
                    var report = summary[bc];
                    if (report?.ResultStatistics is not { } stats) continue;
                    string method = bc.Descriptor.WorkloadMethod.Name;
                    if (!methods.Contains(method)) methods.Add(method);
                    long? alloc = report.GcStats.GetBytesAllocatedPerOperation(bc);
                    double? gflops = GflopsColumn.Flops(bc) is { } f ? f / stats.Median : null;
                    cells[method] = (stats.Median, alloc, gflops);
                }
                if (cells.Count > 0) rows.Add((group.Key.Name, group.Key.DisplayInfo, cells));
            }
        }
        methods.Sort((a, b) => Rank(a).CompareTo(Rank(b)));
        bool hasTorch = methods.Contains("TorchSharp");

        var sb = new StringBuilder();
        sb.AppendLine(heading).AppendLine();
        sb.Append("| workload | parameters |");
        foreach (var m in methods) sb.Append($" {m} |");
        if (hasTorch) foreach (var m in methods.Where(m => m != "TorchSharp")) sb.Append($" {m} / TorchSharp |");
        if (methods.Contains("Native") && methods.Contains("Managed")) sb.Append(" Managed / Native |");
        foreach (var m in methods) sb.Append($" alloc {m} |");
        sb.AppendLine();
        int columns = 2 + methods.Count * 2 + (hasTorch ? methods.Count - 1 : 0) + (methods.Contains("Native") && methods.Contains("Managed") ? 1 : 0);
        sb.Append("|---|---|").Append(string.Concat(Enumerable.Repeat("--:|", columns - 2))).AppendLine();
        foreach (var (workload, parameters, cells) in rows)
        {
            sb.Append($"| {workload} | {parameters} |");
            foreach (var m in methods)
                sb.Append(cells.TryGetValue(m, out var c) ? $" {Time(c.Median)}{(c.Gflops is { } g ? $" ({g:F0} GFLOP/s)" : "")} |" : " - |");
            if (hasTorch)
                foreach (var m in methods.Where(m => m != "TorchSharp"))
                    sb.Append($" {Ratio(cells, m, "TorchSharp")} |");
            if (methods.Contains("Native") && methods.Contains("Managed")) sb.Append($" {Ratio(cells, "Managed", "Native")} |");
            foreach (var m in methods)
                sb.Append(cells.TryGetValue(m, out var c) && c.Alloc is { } a ? $" {Bytes(a)} |" : " - |");
            sb.AppendLine();
        }
        string text = sb.ToString();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, text);
        return text;
    }

    private static int Rank(string method)
    {
        int i = Array.IndexOf(Order, method);
        return i < 0 ? Order.Length : i;
    }

    private static string Ratio(Dictionary<string, (double Median, long? Alloc, double? Gflops)> cells, string num, string den)
        => cells.TryGetValue(num, out var a) && cells.TryGetValue(den, out var b) && b.Median > 0
            ? (a.Median / b.Median).ToString("F2", CultureInfo.InvariantCulture) : "-";

    /// <summary>A duration in nanoseconds, in the unit that keeps 3-4 significant digits.</summary>
    public static string Time(double ns) => ns switch
    {
        < 1e3 => $"{ns:F1} ns",
        < 1e6 => $"{ns / 1e3:F2} µs",
        < 1e9 => $"{ns / 1e6:F2} ms",
        _ => $"{ns / 1e9:F2} s",
    };

    private static string Bytes(long b) => b switch
    {
        0 => "0 B",
        < 1024 => $"{b} B",
        < 1 << 20 => $"{b / 1024.0:F1} KB",
        _ => $"{b / 1048576.0:F1} MB",
    };
}
