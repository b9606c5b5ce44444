using Xunit;

namespace NativeGrad.Tests;

/// <summary>Every numeric test runs once per backend: the native C core and the managed C# kernels.</summary>
public static class Backends
{
    public static TheoryData<BackendKind> Both => new() { BackendKind.Native, BackendKind.Managed };

    /// <summary>The native backend's kernel seam itself (for tests that call kernels directly); it must be present.</summary>
    internal static NativeGrad.Backends.IBackend Native
    {
        get
        {
            Assert.True(Runtime.NativeAvailable, Runtime.NativeLoadFailure);
            using (Runtime.UseBackend(BackendKind.Native)) return Runtime.Current;
        }
    }

    /// <summary>Runs the rest of the test on <paramref name="kind"/>; the native backend must be present (CI builds it).</summary>
    public static Runtime.BackendScope Use(BackendKind kind)
    {
        if (kind == BackendKind.Native)
            Assert.True(Runtime.NativeAvailable, $"libnativegrad did not load: {Runtime.NativeLoadFailure}");
        return Runtime.UseBackend(kind);
    }
}
