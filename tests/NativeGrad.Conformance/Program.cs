using NativeGrad;
using NativeGrad.Conformance;

// dotnet run --project tests/NativeGrad.Conformance -c Release -- [--backend native|managed|both] [--dtype float64|float32] DIR...
var backends = new List<BackendKind> { BackendKind.Native, BackendKind.Managed };
var dtypes = new List<DType> { DType.Float64 };
var dirs = new List<string>();
bool verbose = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--backend":
            backends = args[++i] switch
            {
                "native" => [BackendKind.Native],
                "managed" => [BackendKind.Managed],
                "both" => [BackendKind.Native, BackendKind.Managed],
                var b => throw new ArgumentException($"unknown backend '{b}' (native, managed or both)"),
            };
            break;
        case "--dtype":
            dtypes = args[++i] switch
            {
                "float64" => [DType.Float64],
                "float32" => [DType.Float32],
                "both" => [DType.Float64, DType.Float32],
                var d => throw new ArgumentException($"unknown dtype '{d}' (float64, float32 or both)"),
            };
            break;
        case "--errors":
            break;
        case "--verbose" or "-v":
            verbose = true;
            break;
        default:
            dirs.Add(args[i]);
            break;
    }
}
if (dirs.Count == 0)
{
    Console.Error.WriteLine("usage: NativeGrad.Conformance [--backend native|managed|both] [--dtype float64|float32|both] [-v] DIR...");
    return 2;
}
if (backends.Contains(BackendKind.Native) && !Runtime.NativeAvailable)
{
    Console.Error.WriteLine($"The native backend is not available: {Runtime.NativeLoadFailure}");
    return 1;
}

int passed = 0, failed = 0;
var worst = new SortedDictionary<string, (double Abs, double Rel)>(StringComparer.Ordinal);
foreach (var dir in dirs)
{
    foreach (var c in OracleCase.LoadDirectory(dir))
    {
        foreach (var backend in backends)
        {
            foreach (var dtype in dtypes)
            {
                var result = CaseRunner.Run(c, backend, dtype);
                if (result.Passed) passed++; else failed++;
                string family = $"{Path.GetFileNameWithoutExtension(c.File)} [{backend.ToString().ToLowerInvariant()}, {dtype.ToString().ToLowerInvariant()}]";
                var w = worst.GetValueOrDefault(family);
                worst[family] = (Math.Max(w.Abs, result.WorstAbsoluteError), Math.Max(w.Rel, result.WorstRelativeError));
                if (!result.Passed || verbose) Console.WriteLine(result);
            }
        }
    }
}
if (verbose || args.Contains("--errors"))
{
    Console.WriteLine("largest error per family (absolute, relative):");
    foreach (var (family, (abs, rel)) in worst) Console.WriteLine($"  {family,-40} {abs:E2}  {rel:E2}");
}
Console.WriteLine($"{passed} passed, {failed} failed");
return failed == 0 ? 0 : 1;
