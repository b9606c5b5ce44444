using NativeGrad.Conformance;
using Xunit;

namespace NativeGrad.Tests;

/// <summary>libtorch 2.10's reference results (tests/oracle/cases, a copy of shared/oracle/cases) on both backends and dtypes.</summary>
public class OracleConformanceTests
{
    private static readonly string CaseDirectory = Path.Combine(AppContext.BaseDirectory, "oracle", "cases");
    private static readonly Lazy<Dictionary<string, OracleCase>> Cases = new(() =>
        OracleCase.LoadDirectory(CaseDirectory).ToDictionary(c => c.ToString()));

    public static TheoryData<string, BackendKind, DType> AllCases()
    {
        var data = new TheoryData<string, BackendKind, DType>();
        foreach (var name in Cases.Value.Keys)
            foreach (var backend in new[] { BackendKind.Native, BackendKind.Managed })
                foreach (var dtype in new[] { DType.Float64, DType.Float32 })
                    data.Add(name, backend, dtype);
        return data;
    }

    [Fact]
    public void EveryOracleFileIsLoaded()
    {
        Assert.Equal(8, Directory.GetFiles(CaseDirectory, "*.json").Length);
        Assert.True(Cases.Value.Count >= 300, $"only {Cases.Value.Count} cases loaded");
    }

    [Theory]
    [MemberData(nameof(AllCases))]
    public void OracleCasePasses(string name, BackendKind backend, DType dtype)
    {
        if (backend == BackendKind.Native) Assert.True(Runtime.NativeAvailable, $"libnativegrad did not load: {Runtime.NativeLoadFailure}");
        var result = CaseRunner.Run(Cases.Value[name], backend, dtype);
        Assert.True(result.Passed, result.ToString());
    }

    [Theory]
    [InlineData("composite/seed_linear_bce_with_logits")]
    [InlineData("composite/scalar_x_mul_y_plus_y_squared")]
    public void TutorialCasesPassOnBothBackends(string name)
    {
        foreach (var backend in new[] { BackendKind.Native, BackendKind.Managed })
        {
            var result = CaseRunner.Run(Cases.Value[name], backend, DType.Float64);
            Assert.True(result.Passed, result.ToString());
        }
    }
}
