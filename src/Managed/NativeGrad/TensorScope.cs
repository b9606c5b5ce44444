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
    private static TensorScope? _current // this thread's innermost scope
    {
        get => ThreadState.Current.Scope;
        set => ThreadState.Current.Scope = value;
    }

    private readonly TensorScope? _outer;
    private readonly TensorList _tensors;
    private bool _disposed;

    internal TensorScope()
    {
        var state = ThreadState.Current;
        // The list comes from the last scope this thread closed, already grown to a step's size.
        _tensors = state.SpareScopeList ?? new TensorList();
        state.SpareScopeList = null;
        _outer = state.Scope;
        state.Scope = this;
    }

    /// <summary>The number of tensors the scope will dispose.</summary>
    public int Count => _disposed ? 0 : _tensors.Count;

    internal static void Track(Tensor tensor) => _current?._tensors.Add(tensor);

    internal static void Track(Tensor tensor, ThreadState state) => state.Scope?._tensors.Add(tensor);

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
        if (index >= 0) scope._tensors.RemoveAt(index);
    }

    /// <summary>Excludes <paramref name="tensor"/> from this scope (it joins the enclosing scope, if any) and returns it.</summary>
    public Tensor MoveToOuter(Tensor tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this); // its list already serves another scope
        int index = _tensors.LastIndexOf(tensor);
        if (index >= 0)
        {
            _tensors.RemoveAt(index);
            if (_outer is { _disposed: false } outer) outer._tensors.Add(tensor);
        }
        return tensor;
    }

    /// <summary>Disposes every tensor created in the scope and not moved out.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        var state = ThreadState.Current;
        if (state.Scope == this) state.Scope = _outer;
        _tensors.DisposeAll(state);
        if (_tensors.Capacity <= 4096) state.SpareScopeList = _tensors; // reused by the next scope (Count reads 0 from here on)
    }
}

public sealed partial class Tensor
{
    /// <summary>Opens a <see cref="TensorScope"/> on this thread.</summary>
    public static TensorScope Scope() => new();
}

/// <summary>
/// A scope's tensors: a growable array of struct slots (storing into a Tensor[] through List&lt;T&gt;'s shared generic
/// code costs an array-covariance check per element).
/// </summary>
internal sealed class TensorList
{
    private struct Slot
    {
        public Tensor Tensor;
    }

    private Slot[] _items = new Slot[16];

    public int Count { get; private set; }

    public int Capacity => _items.Length;

    public void Add(Tensor tensor)
    {
        if (Count == _items.Length) Array.Resize(ref _items, _items.Length * 2);
        _items[Count++].Tensor = tensor;
    }

    public int LastIndexOf(Tensor tensor)
    {
        for (int i = Count - 1; i >= 0; i--)
            if (ReferenceEquals(_items[i].Tensor, tensor)) return i;
        return -1;
    }

    public void RemoveAt(int index)
    {
        Array.Copy(_items, index + 1, _items, index, Count - index - 1);
        _items[--Count].Tensor = null!;
    }

    /// <summary>Disposes every tensor (in creation order) and empties the list.</summary>
    public void DisposeAll(ThreadState state)
    {
        for (int i = 0; i < Count; i++)
        {
            _items[i].Tensor.Dispose(state);
            _items[i].Tensor = null!;
        }
        Count = 0;
    }
}
