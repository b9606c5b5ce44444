using NativeGrad.Autograd;

namespace NativeGrad.Conformance;

/// <summary>The outcome of one case on one backend and dtype.</summary>
public sealed record CaseResult(OracleCase Case, BackendKind Backend, DType DType, bool Passed, string Message)
{
    /// <summary>The largest |actual - expected| over every compared element (forward, gradients, second order).</summary>
    public double WorstAbsoluteError { get; init; }

    /// <summary>The largest |actual - expected| / max(|expected|, 1e-300) over elements whose expected value is not tiny.</summary>
    public double WorstRelativeError { get; init; }

    public override string ToString() => $"{(Passed ? "PASS" : "FAIL")} {Case} [{Backend.ToString().ToLowerInvariant()}, {DType.ToString().ToLowerInvariant()}]" +
        (Passed ? $" (worst |diff| {WorstAbsoluteError:E1})" : ": " + Message);
}

/// <summary>
/// Runs oracle cases: forward values, first-order gradients via Backward(), second-order gradients via
/// Autograd.Grad(createGraph: true), and expected errors. float32 runs compare with float32-scaled tolerances.
/// </summary>
public static class CaseRunner
{
    private sealed class CaseFailure(string message) : Exception(message);

    [ThreadStatic] private static double _worstAbs, _worstRel;

    private static string Fmt(ReadOnlySpan<long> shape) => "[" + string.Join(",", shape.ToArray()) + "]";

    public static CaseResult Run(OracleCase c, BackendKind backend, DType dtype)
    {
        using var _ = Runtime.UseBackend(backend);
        using var scope = Tensor.Scope();
        _worstAbs = 0;
        _worstRel = 0;
        try
        {
            if (c.ExpectedError is not null) RunExpectedError(c, dtype);
            else RunValues(c, dtype);
            return new CaseResult(c, backend, dtype, true, "") { WorstAbsoluteError = _worstAbs, WorstRelativeError = _worstRel };
        }
        catch (CaseFailure f)
        {
            return new CaseResult(c, backend, dtype, false, f.Message);
        }
        catch (Exception e)
        {
            return new CaseResult(c, backend, dtype, false, $"{e.GetType().Name}: {e.Message}");
        }
    }

    private static Dictionary<string, Tensor> MakeInputs(OracleCase c, DType dtype)
    {
        var values = new Dictionary<string, Tensor>();
        foreach (var (name, t) in c.Inputs)
        {
            if (t.DType == "int64")
            {
                values[name] = Tensor.FromSpan<long>(t.Data.Select(v => (long)v).ToArray(), t.Shape);
                continue;
            }
            var tensor = dtype == DType.Float64 ? Tensor.FromSpan<double>(t.Data, t.Shape) : Tensor.FromSpan<float>(t.Data.Select(v => (float)v).ToArray(), t.Shape);
            values[name] = tensor.RequiresGrad_(t.RequiresGrad);
        }
        return values;
    }

    private static Tensor Execute(OracleCase c, Dictionary<string, Tensor> values, bool checkNames)
    {
        foreach (var step in c.Program)
        {
            if (!OpTable.Ops.TryGetValue(step.Op, out var op)) throw new CaseFailure($"unknown op '{step.Op}'");
            var result = op(new StepArgs(step, values));
            if (checkNames && step.GradFn is { } expectedName && !NameMayDiffer(step.Op, expectedName))
            {
                string actual = result.GradFn?.Name ?? "None";
                if (actual != expectedName) throw new CaseFailure($"step '{step.Out}' ({step.Op}): grad_fn is {actual}, PyTorch's is {expectedName}");
            }
            values[step.Out] = result;
        }
        return values[c.Output];
    }

    /// <summary>Names PyTorch takes from its internal decomposition of composite ops (FORMAT.md): they need not match.</summary>
    private static bool NameMayDiffer(string op, string expectedName) =>
        op is "l1_loss" or "linear" or "reshape" or "flatten" or "matmul"
        || expectedName is "UnsafeViewBackward0" or "ReshapeAliasBackward0" or "ViewBackward0" or "SqueezeBackward3" or "CloneBackward0";

    private static void RunExpectedError(OracleCase c, DType dtype)
    {
        var values = MakeInputs(c, dtype);
        Exception? error = null;
        try
        {
            var output = Execute(c, values, checkNames: false);
            output.Backward();
        }
        catch (CaseFailure) { throw; }
        catch (Exception e) { error = e; }
        if (error is null) throw new CaseFailure($"expected a '{c.ExpectedError}' error, but the program and Backward() succeeded");
        bool matches = c.ExpectedError switch
        {
            "shape" => error is ArgumentException and not ArgumentOutOfRangeException,
            "index" => error is IndexOutOfRangeException or ArgumentOutOfRangeException,
            "dtype" => error is ArgumentException && error.Message.Contains("dtype", StringComparison.OrdinalIgnoreCase),
            "grad" => error is InvalidOperationException,
            _ => false,
        };
        if (!matches) throw new CaseFailure($"expected a '{c.ExpectedError}' error, got {error.GetType().Name}: {error.Message}");
    }

    private static void RunValues(OracleCase c, DType dtype)
    {
        var (rtol, atol) = Tolerances(c, dtype);
        var values = MakeInputs(c, dtype);
        var output = Execute(c, values, checkNames: true);
        Compare("output", output, c.ExpectedOutput!, rtol, atol);

        var gradOutput = c.GradOutput is null ? null : ToTensor(c.GradOutput, dtype);
        if (c.ExpectedGrads is not null && c.ExpectedGrads.Count > 0)
        {
            output.Backward(gradOutput);
            foreach (var (name, expected) in c.ExpectedGrads)
            {
                var grad = values[name].Grad;
                if (expected is null)
                {
                    if (grad is not null) throw new CaseFailure($"grad of '{name}': PyTorch leaves it None, we computed {Fmt(grad.Shape)}");
                    continue;
                }
                if (grad is null) throw new CaseFailure($"grad of '{name}' is null, PyTorch computed one of shape {Fmt(expected.Shape)}");
                Compare($"grad of '{name}'", grad, expected, rtol, atol);
            }
        }

        if (c.SecondOrderV is not null && c.SecondOrderGrads is not null)
        {
            // A fresh graph: g = grad(out, inputs, create_graph); s = sum(g_i * v_i); compare grad(s, inputs).
            var fresh = MakeInputs(c, dtype);
            var freshOutput = Execute(c, fresh, checkNames: false);
            var names = c.Inputs.Where(kv => kv.Value.RequiresGrad).Select(kv => kv.Key).ToArray();
            var inputs = names.Select(n => fresh[n]).ToArray();
            var first = Autograd.Autograd.Grad([freshOutput], inputs, gradOutput is null ? null : [gradOutput], createGraph: true, allowUnused: true);
            Tensor? s = null;
            for (int i = 0; i < names.Length; i++)
            {
                if (first[i] is null || !c.SecondOrderV.TryGetValue(names[i], out var v)) continue;
                var term = (first[i]! * ToTensor(v, dtype)).Sum();
                s = s is null ? term : s + term;
            }
            Tensor?[] second = s is not null && s.RequiresGrad
                ? Autograd.Autograd.Grad([s], inputs, allowUnused: true)
                : new Tensor?[names.Length];
            for (int i = 0; i < names.Length; i++)
            {
                if (!c.SecondOrderGrads.TryGetValue(names[i], out var expected)) continue;
                var actual = second[i];
                if (expected is null)
                {
                    if (actual is not null && actual.ToDoubleArray().Any(x => x != 0))
                        throw new CaseFailure($"second-order grad of '{names[i]}': PyTorch has None, we computed non-zero values");
                    continue;
                }
                if (actual is null)
                {
                    if (expected.Data.All(x => x == 0)) continue; // None and zeros are the same gradient
                    throw new CaseFailure($"second-order grad of '{names[i]}' is null, PyTorch's is non-zero");
                }
                Compare($"second-order grad of '{names[i]}'", actual, expected, rtol, atol);
            }
        }
    }

    private static (double Rtol, double Atol) Tolerances(OracleCase c, DType dtype)
    {
        if (dtype == DType.Float64) return (c.Rtol, c.Atol);
        // float32 carries ~6e-8 relative error per op; a program of a few ops with reductions stays within these.
        return (Math.Max(c.Rtol, 2e-4), Math.Max(c.Atol, 2e-5));
    }

    private static Tensor ToTensor(OracleTensor t, DType dtype) =>
        dtype == DType.Float64 ? Tensor.FromSpan<double>(t.Data, t.Shape) : Tensor.FromSpan<float>(t.Data.Select(v => (float)v).ToArray(), t.Shape);

    private static void Compare(string what, Tensor actual, OracleTensor expected, double rtol, double atol)
    {
        if (!actual.Shape.SequenceEqual(expected.Shape))
            throw new CaseFailure($"{what}: shape {Fmt(actual.Shape)}, expected {Fmt(expected.Shape)}");
        var a = actual.ToDoubleArray();
        double worst = 0;
        int worstIndex = -1;
        // For float32, the scale of the values sets the absolute error that is achievable.
        double scale = actual.DType == DType.Float32 ? Math.Max(1.0, expected.Data.Where(double.IsFinite).Select(Math.Abs).DefaultIfEmpty(0).Max()) : 1.0;
        for (int i = 0; i < a.Length; i++)
        {
            double e = expected.Data[i], x = a[i];
            if (double.IsNaN(e) && double.IsNaN(x)) continue;
            if (double.IsInfinity(e) && e == x) continue;
            double diff = Math.Abs(x - e);
            _worstAbs = Math.Max(_worstAbs, diff);
            if (Math.Abs(e) > 1e-6) _worstRel = Math.Max(_worstRel, diff / Math.Abs(e));
            double excess = diff - (atol * scale + rtol * Math.Abs(e));
            if (!(excess <= 0) && (worstIndex < 0 || diff > worst || double.IsNaN(diff)))
            {
                worst = diff;
                worstIndex = i;
            }
        }
        if (worstIndex >= 0)
            throw new CaseFailure($"{what}: worst element {worstIndex}: got {a[worstIndex]:R}, expected {expected.Data[worstIndex]:R} (|diff| {worst:E3}, rtol {rtol:E1}, atol {atol:E1})");
    }
}
