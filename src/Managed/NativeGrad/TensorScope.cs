namespace NativeGrad;

/// <summary>
/// A disposal scope: every tensor created on this thread while the scope is open is disposed with it, giving
/// its memory back to the pool, except the tensors handed to <see cref="MoveToOuter"/>. Scopes nest.
/// </summary>
/// <example>
/// <code>
/// Tensor kept;
/// using (var scope = Tensor.Scope())
/// {
///     var t = Tensor.Randn(1000, 1000);
///     kept = scope.MoveToOuter(t.Sum());
/// } // t and every temporary are back in the pool; kept lives on
/// </code>
/// </example>
public sealed class TensorScope : IDisposable
{
    private readonly TensorScope? _outer;
    private readonly ThreadState _owner; // the thread that opened the scope (it may be closed on another, after an await)
    private readonly SlotList<Tensor> _tensors; // struct slots: no covariance check per store
    private bool _disposed;

    internal TensorScope()
    {
        var state = ThreadState.Current;
        // The list comes from the last scope this thread closed, already grown to a step's size.
        _tensors = state.SpareScopeList ?? new SlotList<Tensor>();
        state.SpareScopeList = null;
        _outer = state.Scope;
        _owner = state;
        state.Scope = this;
    }

    /// <summary>The number of tensors the scope will dispose.</summary>
    public int Count => _disposed ? 0 : _tensors.Count;

    internal static void Track(Tensor tensor) => Track(tensor, ThreadState.Current);

    internal static void Track(Tensor tensor, ThreadState state)
    {
        if (state.Scope is not { } scope) return;
        scope._tensors.Add(tensor);
        tensor.TrackedBy = scope;
    }

    /// <summary>Forgets <paramref name="tensor"/> when it is this thread's innermost scope's newest (a tensor recycled on Dispose must leave the list).</summary>
    internal bool TryRemoveNewest(Tensor tensor, ThreadState state)
    {
        if (state.Scope != this || _tensors.Count == 0 || !ReferenceEquals(_tensors[_tensors.Count - 1], tensor)) return false;
        _tensors.Pop();
        tensor.TrackedBy = null;
        return true;
    }

    /// <summary>
    /// Takes <paramref name="tensor"/> out of the innermost scope of this thread, if it was created there: for state
    /// that outlives the scope it happens to be created in (module parameters, optimizer buffers).
    /// </summary>
    internal static void Untrack(Tensor tensor) => Untrack(tensor, ThreadState.Current);

    /// <inheritdoc cref="Untrack(Tensor)"/>
    internal static void Untrack(Tensor tensor, ThreadState state)
    {
        if (state.Scope is not { } scope) return;
        int index = scope._tensors.LastIndexOf(tensor);
        if (index < 0) return;
        scope._tensors.RemoveAt(index);
        tensor.TrackedBy = null;
    }

    /// <summary>Excludes <paramref name="tensor"/> from this scope (it joins the enclosing scope, if any) and returns it.</summary>
    public Tensor MoveToOuter(Tensor tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this); // its list already serves another scope
        int index = _tensors.LastIndexOf(tensor);
        if (index >= 0)
        {
            _tensors.RemoveAt(index);
            tensor.TrackedBy = null;
            if (_outer is { _disposed: false } outer)
            {
                outer._tensors.Add(tensor);
                tensor.TrackedBy = outer;
            }
        }
        return tensor;
    }

    /// <summary>Disposes every tensor created in the scope and not moved out.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        var state = ThreadState.Current;
        if (_owner.Scope == this) _owner.Scope = _outer; // also when closed on another thread: the opener must not keep a closed scope
        for (int i = 0; i < _tensors.Count; i++) // in creation order
        {
            var t = _tensors[i];
            if (t.TrackedBy == this) t.TrackedBy = null;
            t.Dispose(state);
        }
        _tensors.Clear();
        if (_tensors.Capacity <= 4096) state.SpareScopeList = _tensors; // reused by the next scope (Count reads 0 from here on)
    }
}

public sealed partial class Tensor
{
    /// <summary>Opens a <see cref="TensorScope"/> on this thread.</summary>
    public static TensorScope Scope() => new();
}
