namespace NativeGrad.Autograd;

/// <summary>
/// Thread-local grad mode, as PyTorch's: when disabled, ops record no graph and results do not require grad.
/// Use through <see cref="NativeGrad.Autograd.Autograd.NoGrad"/> and friends.
/// </summary>
public static class GradMode
{
    // Both flags live in this thread's ThreadState. Most threads never leave the default (grad on, no inference) for
    // long, and ops ask IsEnabled all the time: a process-wide count of threads not in the default lets IsEnabled
    // answer without a thread-static read (a TLS lookup, ~4 ns) whenever no thread is in NoGrad/InferenceMode.
    private static int _threadsNotDefault;

    private static int Flags => Volatile.Read(ref _threadsNotDefault) == 0 ? 0 : ThreadState.Current.GradFlags;

    private static void SetFlags(int flags) => SetFlags(ThreadState.Current, flags);

    private static void SetFlags(ThreadState state, int flags)
    {
        int old = state.GradFlags;
        if (old == flags) return;
        state.GradFlags = flags;
        if (old == 0) Interlocked.Increment(ref _threadsNotDefault);
        else if (flags == 0) Interlocked.Decrement(ref _threadsNotDefault);
    }

    private static int Make(bool disabled, bool inference) => (disabled ? ThreadState.GradDisabled : 0) | (inference ? ThreadState.InferenceMode : 0);

    /// <summary>True when ops on this thread record the backward graph.</summary>
    public static bool IsEnabled => (Flags & ThreadState.GradDisabled) == 0;

    /// <summary>True inside an <see cref="InferenceMode"/> scope on this thread.</summary>
    public static bool IsInference => (Flags & ThreadState.InferenceMode) != 0;

    /// <summary>Sets grad mode for this thread (PyTorch's <c>torch.set_grad_enabled</c>).</summary>
    public static void SetEnabled(bool enabled) => SetFlags(Make(!enabled, IsInference));

    /// <summary>Disables gradient recording until the scope is disposed.</summary>
    public static Scope NoGrad() => NoGrad(ThreadState.Current);

    /// <inheritdoc cref="NoGrad()"/>
    internal static Scope NoGrad(ThreadState state) => new(state, ThreadState.GradDisabled | (state.GradFlags & ThreadState.InferenceMode));

    /// <summary>Enables gradient recording (also inside a NoGrad scope) until the scope is disposed.</summary>
    public static Scope EnableGrad() => EnableGrad(ThreadState.Current);

    /// <inheritdoc cref="EnableGrad()"/>
    internal static Scope EnableGrad(ThreadState state) => new(state, state.GradFlags & ThreadState.InferenceMode);

    /// <summary>Like NoGrad, and marks tensors as inference tensors (PyTorch's <c>torch.inference_mode</c>).</summary>
    public static Scope InferenceMode() => new(ThreadState.Current, Make(disabled: true, inference: true));

    /// <summary>Restores the previous grad mode when disposed (one thread-state read for the pair: the scope keeps it).</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly ThreadState? _state;
        private readonly int _previous;

        internal Scope(ThreadState state, int flags)
        {
            _state = state;
            _previous = state.GradFlags;
            SetFlags(state, flags);
        }

        /// <summary>Restores the grad mode that was in force when the scope was created.</summary>
        public void Dispose()
        {
            if (_state is not null) SetFlags(_state, _previous);
        }
    }
}
