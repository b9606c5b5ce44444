namespace NativeGrad.Autograd;

/// <summary>
/// PyTorch's anomaly detection: while enabled (on this thread), every node remembers where its forward op ran,
/// and a backward that produces NaN throws naming the node and showing that forward stack trace.
/// </summary>
public static class AnomalyMode
{
    [ThreadStatic] private static int _depth;
    private static int _open; // scopes open on any thread: while 0, IsEnabled reads no thread-static (it is asked once per node)

    /// <summary>True inside a <see cref="Autograd.DetectAnomaly"/> scope on this thread.</summary>
    public static bool IsEnabled => Volatile.Read(ref _open) != 0 && _depth > 0;

    internal static Scope Enter() => new();

    /// <summary>Leaves anomaly mode when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        /// <summary>Enters anomaly mode.</summary>
        public Scope()
        {
            _depth++;
            Interlocked.Increment(ref _open);
        }

        /// <summary>Leaves anomaly mode.</summary>
        public void Dispose()
        {
            _depth--;
            Interlocked.Decrement(ref _open);
        }
    }

    internal static void Check(BackwardNode node, Tensor?[] gradInputs)
    {
        for (int i = 0; i < gradInputs.Length; i++)
        {
            if (gradInputs[i] is not { } g || !g.DType.IsFloatingPoint()) continue;
            if (!g.ToDoubleArray().Any(double.IsNaN)) continue;
            throw new InvalidOperationException(
                $"Function '{node.Name}' returned nan values in its {i}th output." +
                (node.ForwardTrace is null ? "" : $"\nTraceback of forward call that caused the error:\n{node.ForwardTrace}"));
        }
    }
}
