using System.Runtime.CompilerServices;
using NativeGrad.Storage;
using Xunit;

namespace NativeGrad.Tests;

public class RuntimeTests
{
    [Fact]
    public void NativeLibraryLoadsAndReportsItsKernelPath()
    {
        Assert.True(Runtime.NativeAvailable, $"libnativegrad did not load: {Runtime.NativeLoadFailure}");
        using var _ = Runtime.UseBackend(BackendKind.Native);
        Assert.Contains(Runtime.Kernels, new[] { "avx512", "avx2", "scalar" });
        Assert.True(Runtime.Threads >= 1);
    }

    [Fact]
    public void BackendCanBeChosenPerThread()
    {
        using (Runtime.UseBackend(BackendKind.Managed))
        {
            Assert.Equal(BackendKind.Managed, Runtime.Backend);
            Assert.StartsWith("managed", Runtime.Kernels);
        }
        using (Runtime.UseBackend(BackendKind.Native)) Assert.Equal(BackendKind.Native, Runtime.Backend);
    }

    [Fact]
    public void NativeAndManagedKernelsAgree()
    {
        var gen = new Generator(7);
        var x = Tensor.Randn([257, 33], DType.Float32, gen);
        var y = Tensor.Randn([33, 65], DType.Float32, gen);
        Func<Tensor>[] programs =
        [
            () => x.Exp(), () => x.Tanh(), () => x.Sigmoid(), () => x.Abs().Log(), () => x.Gelu(), () => x.Softplus(),
            () => x * x + x / 3.0, () => x.Sum([0]), () => x.Sum(), () => x.MatMul(y), () => x.T.MatMul(x),
            () => NN.Functional.LogSoftmax(x, -1), () => x.Amax([1]),
        ];
        foreach (var program in programs)
        {
            float[] native, managed;
            using (Runtime.UseBackend(BackendKind.Native)) native = program().ToArray<float>();
            using (Runtime.UseBackend(BackendKind.Managed)) managed = program().ToArray<float>();
            Assert.Equal(native.Length, managed.Length);
            for (int i = 0; i < native.Length; i++)
                Assert.True(Math.Abs(native[i] - managed[i]) <= 1e-4 * (1 + Math.Abs(managed[i])), $"element {i}: native {native[i]} vs managed {managed[i]}");
        }
    }

    [Fact]
    public void ScopeReturnsEveryTensorCreatedInsideIt()
    {
        Tensor kept;
        Tensor inner;
        using (var scope = Tensor.Scope())
        {
            inner = Tensor.Ones(1000) * 2.0;
            kept = scope.MoveToOuter(inner.Sum());
        }
        Assert.True(inner.IsDisposed);
        Assert.False(kept.IsDisposed);
        Assert.Equal(2000f, kept.Item());
    }

    [Fact]
    public void AScopeClosedOnAnotherThreadStopsCollectingOnItsOwn()
    {
        // `using var scope` across an await may close the scope on another thread: the opener must not keep
        // adding its tensors to the closed scope (they would never be disposed, nor collected while it lives).
        var scope = Tensor.Scope();
        var closer = new Thread(scope.Dispose);
        closer.Start();
        closer.Join();
        [MethodImpl(MethodImplOptions.NoInlining)]
        static WeakReference Make() => new(Tensor.Ones(4));
        var weak = Make();
        for (int i = 0; i < 5 && weak.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.False(weak.IsAlive);
        GC.KeepAlive(scope);
    }

    [Fact]
    public void UndisposedTensorsAreReclaimedByTheGarbageCollector()
    {
        static WeakReference Make() => new(Tensor.Ones(1 << 16));
        var weak = Make();
        for (int i = 0; i < 5 && weak.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.False(weak.IsAlive);
    }

    [Fact]
    public void DisposedBuffersGoBackToThePool()
    {
        const int Bytes = 1 << 20;
        var t = Tensor.Zeros([Bytes / 4], DType.Float32);
        long pooledBefore = Diagnostics.PooledBytes;
        t.Dispose();
        Assert.True(Diagnostics.PooledBytes > pooledBefore || Diagnostics.PooledBytes >= Bytes);
    }
}
