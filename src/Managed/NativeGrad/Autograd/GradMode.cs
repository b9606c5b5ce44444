namespace NativeGrad.Autograd;

/// <summary>
/// Thread-local grad mode, as PyTorch's: when disabled, ops record no graph and results do not require grad.
/// Use through <see cref="NativeGrad.Autograd.Autograd.NoGrad"/> and friends.
/// </summary>
public static class GradMode
{
    // Both flags live in this thread's ThreadState (one TLS lookup for everything per-thread).
    private static bool _disabled
    {
        get => (ThreadState.Current.GradFlags & ThreadState.GradDisabled) != 0;
        set
        {
            var state = ThreadState.Current;
            state.GradFlags = value ? state.GradFlags | ThreadState.GradDisabled : state.GradFlags & ~ThreadState.GradDisabled;
        }
    }

    private static bool _inference
    {
        get => (ThreadState.Current.GradFlags & ThreadState.InferenceMode) != 0;
        set
        {
            var state = ThreadState.Current;
            state.GradFlags = value ? state.GradFlags | ThreadState.InferenceMode : state.GradFlags & ~ThreadState.InferenceMode;
        }
    }

    /// <summary>True when ops on this thread record the backward graph.</summary>
    public static bool IsEnabled => !_disabled;

    /// <summary>True inside an <see cref="InferenceMode"/> scope on this thread.</summary>
    public static bool IsInference => _inference;

    /// <summary>Sets grad mode for this thread (PyTorch's <c>torch.set_grad_enabled</c>).</summary>
    public static void SetEnabled(bool enabled) => _disabled = !enabled;

    /// <summary>Disables gradient recording until the scope is disposed.</summary>
    public static Scope NoGrad() => new(enabled: false, _inference);

    /// <summary>Enables gradient recording (also inside a NoGrad scope) until the scope is disposed.</summary>
    public static Scope EnableGrad() => new(enabled: true, _inference);

    /// <summary>Like NoGrad, and marks tensors as inference tensors (PyTorch's <c>torch.inference_mode</c>).</summary>
    public static Scope InferenceMode() => new(enabled: false, inference: true);

    /// <summary>Restores the previous grad mode when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly bool _previousDisabled;
        private readonly bool _previousInference;

        internal Scope(bool enabled, bool inference)
        {
            _previousDisabled = _disabled;
            _previousInference = _inference;
            _disabled = !enabled;
            _inference = inference;
        }

        /// <summary>Restores the grad mode that was in force when the scope was created.</summary>
        public void Dispose()
        {
            _disabled = _previousDisabled;
            _inference = _previousInference;
        }
    }
}
