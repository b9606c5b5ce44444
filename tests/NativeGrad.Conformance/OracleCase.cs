using System.Text.Json;

namespace NativeGrad.Conformance;

/// <summary>A tensor as the oracle files write it: shape, row-major data, dtype, requires_grad.</summary>
public sealed record OracleTensor(long[] Shape, double[] Data, string? DType, bool RequiresGrad)
{
    public static OracleTensor Parse(JsonElement e)
    {
        var shape = e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
        var data = e.GetProperty("data").EnumerateArray().Select(ReadNumber).ToArray();
        string? dtype = e.TryGetProperty("dtype", out var d) ? d.GetString() : null;
        bool rg = e.TryGetProperty("requires_grad", out var r) && r.ValueKind == JsonValueKind.True;
        return new OracleTensor(shape, data, dtype, rg);
    }

    internal static double ReadNumber(JsonElement x) => x.ValueKind switch
    {
        JsonValueKind.Number => x.GetDouble(),
        JsonValueKind.String => x.GetString() switch
        {
            "nan" or "NaN" => double.NaN,
            "inf" or "Infinity" => double.PositiveInfinity,
            "-inf" or "-Infinity" => double.NegativeInfinity,
            var s => double.Parse(s!, System.Globalization.CultureInfo.InvariantCulture),
        },
        _ => throw new FormatException($"not a number: {x}"),
    };
}

/// <summary>One step of a case's program: <c>out = op(args; attrs)</c>.</summary>
public sealed record OracleStep(string Out, string Op, JsonElement[] Args, Dictionary<string, JsonElement> Attrs, string? GradFn);

/// <summary>One oracle case (see shared/oracle/FORMAT.md).</summary>
public sealed class OracleCase
{
    public required string File { get; init; }
    public required string Name { get; init; }
    public required string DType { get; init; }
    public required Dictionary<string, OracleTensor> Inputs { get; init; }
    public required List<OracleStep> Program { get; init; }
    public required string Output { get; init; }
    public OracleTensor? GradOutput { get; init; }
    public OracleTensor? ExpectedOutput { get; init; }
    public Dictionary<string, OracleTensor?>? ExpectedGrads { get; init; }
    public Dictionary<string, OracleTensor>? SecondOrderV { get; init; }
    public Dictionary<string, OracleTensor?>? SecondOrderGrads { get; init; }
    public string? ExpectedError { get; init; }
    public double Rtol { get; init; }
    public double Atol { get; init; }

    public override string ToString() => $"{Path.GetFileNameWithoutExtension(File)}/{Name}";

    /// <summary>Reads every case of every <c>*.json</c> in <paramref name="directory"/> (sorted by file name).</summary>
    public static List<OracleCase> LoadDirectory(string directory)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"No case folder at {directory}");
        var cases = new List<OracleCase>();
        foreach (var file in Directory.GetFiles(directory, "*.json").OrderBy(f => f, StringComparer.Ordinal))
            cases.AddRange(LoadFile(file));
        return cases;
    }

    public static List<OracleCase> LoadFile(string file)
    {
        using var doc = JsonDocument.Parse(System.IO.File.ReadAllText(file));
        var result = new List<OracleCase>();
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
            result.Add(Parse(c.Clone(), file));
        return result;
    }

    private static Dictionary<string, OracleTensor?> ParseGrads(JsonElement e)
    {
        var d = new Dictionary<string, OracleTensor?>();
        foreach (var p in e.EnumerateObject()) d[p.Name] = p.Value.ValueKind == JsonValueKind.Null ? null : OracleTensor.Parse(p.Value);
        return d;
    }

    private static OracleCase Parse(JsonElement c, string file)
    {
        var inputs = new Dictionary<string, OracleTensor>();
        foreach (var p in c.GetProperty("inputs").EnumerateObject()) inputs[p.Name] = OracleTensor.Parse(p.Value);
        var program = new List<OracleStep>();
        foreach (var s in c.GetProperty("program").EnumerateArray())
        {
            var attrs = new Dictionary<string, JsonElement>();
            if (s.TryGetProperty("attrs", out var a))
                foreach (var p in a.EnumerateObject()) attrs[p.Name] = p.Value;
            program.Add(new OracleStep(
                s.GetProperty("out").GetString()!, s.GetProperty("op").GetString()!,
                s.GetProperty("args").EnumerateArray().ToArray(), attrs,
                s.TryGetProperty("grad_fn", out var gf) && gf.ValueKind == JsonValueKind.String ? gf.GetString() : null));
        }
        OracleTensor? expectedOutput = null;
        Dictionary<string, OracleTensor?>? grads = null;
        if (c.TryGetProperty("expected", out var exp))
        {
            expectedOutput = OracleTensor.Parse(exp.GetProperty("output"));
            if (exp.TryGetProperty("grads", out var g)) grads = ParseGrads(g);
        }
        Dictionary<string, OracleTensor>? v = null;
        Dictionary<string, OracleTensor?>? so = null;
        if (c.TryGetProperty("second_order", out var second) && second.ValueKind == JsonValueKind.Object)
        {
            v = new Dictionary<string, OracleTensor>();
            foreach (var p in second.GetProperty("v").EnumerateObject()) v[p.Name] = OracleTensor.Parse(p.Value);
            so = ParseGrads(second.GetProperty("grads"));
        }
        return new OracleCase
        {
            File = file,
            Name = c.GetProperty("name").GetString()!,
            DType = c.TryGetProperty("dtype", out var dt) ? dt.GetString()! : "float64",
            Inputs = inputs,
            Program = program,
            Output = c.GetProperty("output").GetString()!,
            GradOutput = c.TryGetProperty("grad_output", out var go) && go.ValueKind == JsonValueKind.Object ? OracleTensor.Parse(go) : null,
            ExpectedOutput = expectedOutput,
            ExpectedGrads = grads,
            SecondOrderV = v,
            SecondOrderGrads = so,
            ExpectedError = c.TryGetProperty("expected_error", out var ee) ? ee.GetString() : null,
            Rtol = c.TryGetProperty("rtol", out var rt) ? rt.GetDouble() : 1e-7,
            Atol = c.TryGetProperty("atol", out var at) ? at.GetDouble() : 1e-9,
        };
    }
}
