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
public readonly struct TensorScope : IDisposable
{
    // The scope's state lives in a frame its thread reuses for the next scope (no allocation per scope); the handle
    // remembers which use of the frame it is, so a second Dispose, or a copy of the handle, cannot reach a later scope.
    private readonly Frame? _frame;
    private readonly int _generation;

    private TensorScope(Frame frame)
    {
        _frame = frame;
        _generation = frame.Generation;
    }

    private Frame? Live => _frame is { } frame && frame.Generation == _generation ? frame : null;

    /// <summary>The number of tensors the scope will dispose (0 once it was disposed).</summary>
    public int Count => Live?.Count ?? 0;

    /// <summary>Excludes <paramref name="tensor"/> from this scope (it joins the enclosing scope, if any) and returns it.</summary>
    public Tensor MoveToOuter(Tensor tensor)
    {
        var frame = Live;
        ObjectDisposedException.ThrowIf(frame is null, typeof(TensorScope));
        return frame.MoveToOuter(tensor);
    }

    /// <summary>Disposes every tensor created in the scope and not moved out; calling it again does nothing.</summary>
    public void Dispose() => Live?.Dispose();

    /// <summary>Opens a scope on this thread.</summary>
    internal static TensorScope Open() => new(Frame.Open(ThreadState.Current));

    internal static void Track(Tensor tensor) => Track(tensor, ThreadState.Current);

    internal static void Track(Tensor tensor, ThreadState state)
    {
        if (state.Scope is not { } scope) return;
        scope.Tensors.Add(tensor);
        tensor.TrackedBy = scope;
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
        int index = scope.Tensors.LastIndexOf(tensor);
        if (index < 0) return;
        scope.Tensors.RemoveAt(index);
        tensor.TrackedBy = null;
    }

    /// <summary>One open scope's state: its tensors and the scope it is nested in.</summary>
    internal sealed class Frame
    {
        private Frame? _outer;              // the enclosing scope when this one opened, as that frame's use number:
        private int _outerGeneration;       // frames are reused, so a link is valid only for that use
        private ThreadState _owner = null!; // the thread that opened the scope (it may be closed on another, after an await)
        internal readonly SlotList<Tensor> Tensors = new(); // struct slots: no covariance check per store; grown to a step's size once
        private bool _open;
        private int _closedGeneration = -1; // the use that ended last (its links stay until the frame is reused)

        /// <summary>Which use of this frame is current (a handle of an earlier one finds it closed).</summary>
        internal int Generation;

        internal int Count => Tensors.Count;

        /// <summary>
        /// Opens a frame (one this thread closed before, when it has one) as the thread's innermost scope: a user's
        /// scope, or a backward pass's (the tensors the pass creates are tracked by it, not by the caller's scope).
        /// </summary>
        internal static Frame Open(ThreadState state)
        {
            var frame = state.SpareScopeFrames is { Count: > 0 } spares ? spares.Pop() : new Frame();
            frame._open = true;
            frame._outer = state.Scope;
            frame._outerGeneration = frame._outer?.Generation ?? 0;
            frame._owner = state;
            state.Scope = frame;
            return frame;
        }

        /// <summary>Forgets <paramref name="tensor"/> when it is this thread's innermost scope's newest (a tensor recycled on Dispose must leave the list).</summary>
        internal bool TryRemoveNewest(Tensor tensor, ThreadState state)
        {
            if (state.Scope != this || Tensors.Count == 0 || !ReferenceEquals(Tensors[Tensors.Count - 1], tensor)) return false;
            Tensors.Pop();
            tensor.TrackedBy = null;
            return true;
        }

        internal Tensor MoveToOuter(Tensor tensor)
        {
            int index = Tensors.LastIndexOf(tensor);
            if (index >= 0)
            {
                Tensors.RemoveAt(index);
                tensor.TrackedBy = null;
                if (OpenOuter() is { } outer)
                {
                    outer.Tensors.Add(tensor);
                    tensor.TrackedBy = outer;
                }
            }
            return tensor;
        }

        /// <summary>
        /// The nearest enclosing scope still open: scopes closed out of order (an outer one before this) are skipped by
        /// their links while their frames are not reused; past a reused frame the chain is unknown, and nothing is open.
        /// </summary>
        private Frame? OpenOuter()
        {
            var frame = _outer;
            int generation = _outerGeneration;
            while (frame is not null)
            {
                if (frame._open && frame.Generation == generation) return frame;
                if (frame._open || frame._closedGeneration != generation) return null; // reused since
                generation = frame._outerGeneration;
                frame = frame._outer;
            }
            return null;
        }

        /// <summary>
        /// Closes a backward pass's frame. With <paramref name="dispose"/> (the pass ran no user code and kept no graph),
        /// every tensor the pass created and nobody took (a leaf's .Grad is untracked when stored) is disposed and its
        /// object recycled, except the gradients returned to the caller (<paramref name="kept"/>); otherwise all of them
        /// join the caller's scope, as any tensor created there would.
        /// </summary>
        internal void CloseForPass(ThreadState state, bool dispose, Tensor?[]? kept)
        {
            if (!TryUnlink(out var outer)) return;
            for (int i = 0; i < Tensors.Count; i++)
            {
                var t = Tensors[i];
                if (t.TrackedBy != this) continue;
                t.TrackedBy = null;
                if (t.IsDisposed) continue;
                if (dispose && !Contains(kept, t)) t.DisposeInternal(state);
                else if (outer is not null)
                {
                    outer.Tensors.Add(t);
                    t.TrackedBy = outer;
                }
            }
            Close(state);
        }

        private static bool Contains(Tensor?[]? tensors, Tensor t)
        {
            if (tensors is null) return false;
            foreach (var k in tensors) if (ReferenceEquals(k, t)) return true;
            return false;
        }

        internal void Dispose()
        {
            if (!TryUnlink(out _)) return;
            var state = ThreadState.Current;
            for (int i = 0; i < Tensors.Count; i++) // in creation order
            {
                var t = Tensors[i];
                if (t.TrackedBy == this) t.TrackedBy = null;
                t.Dispose(state);
            }
            Close(state);
        }

        /// <summary>
        /// Marks the frame closed and, when it is its opening thread's innermost scope (also when closed on another
        /// thread: the opener must not keep a closed scope), makes the nearest open enclosing one innermost again.
        /// False when it was closed already.
        /// </summary>
        private bool TryUnlink(out Frame? outer)
        {
            outer = null;
            if (!_open) return false;
            _open = false;
            outer = OpenOuter();
            if (_owner.Scope == this) _owner.Scope = outer;
            return true;
        }

        /// <summary>Empties the closed frame, ends this use of it and keeps it for the thread's next scope.</summary>
        private void Close(ThreadState state)
        {
            Tensors.Clear();
            _closedGeneration = Generation;
            Generation++; // handles of this use see a closed scope from here on
            var spares = state.SpareScopeFrames ??= new SlotList<Frame>();
            if (Tensors.Capacity <= 4096 && spares.Count < 16) spares.Add(this); // reused by a next scope on this thread
        }
    }
}

public sealed partial class Tensor
{
    /// <summary>Opens a <see cref="TensorScope"/> on this thread.</summary>
    public static TensorScope Scope() => TensorScope.Open();
}
