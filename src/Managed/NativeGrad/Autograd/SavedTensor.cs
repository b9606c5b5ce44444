using NativeGrad.Storage;

namespace NativeGrad.Autograd;

/// <summary>
/// A tensor saved for backward. It keeps the tensor itself plus its own reference to the storage (so disposing the
/// original does not free memory the graph still needs) and the storage version at save time (so an in-place change
/// afterwards is detected instead of silently giving wrong gradients). Backward formulas get the original tensor
/// while it is alive and unchanged; an alias is built only when the original was disposed or detached meanwhile.
/// No object per save. A struct kept in its node's array: call <see cref="Release"/> on the array element.
/// </summary>
internal struct SavedTensor
{
    private Tensor? _original;            // null once released
    private readonly TensorStorage _held; // our reference to the storage, given back by Release
    private Tensor? _alias;               // built on demand
    private readonly BackwardNode? _gradFn;
    private readonly AccumulateGrad? _accumulator;
    private readonly int _outputNr;
    private readonly bool _requiresGrad;
    private readonly int _version;
    private readonly string _opName;
    private readonly bool _countsGradFn; // holds a counted reference to _gradFn (not when it is the saving node itself)

    /// <param name="tensor">The tensor to save.</param>
    /// <param name="opName">The saving op, for error messages.</param>
    /// <param name="owner">
    /// The saving node: saving its own output counts no reference (the node would keep itself alive), nor does saving
    /// an input, whose node the owner's edge already holds for as long as this saved tensor exists.
    /// </param>
    public SavedTensor(Tensor tensor, string opName, BackwardNode? owner = null)
    {
        if (tensor.IsInference && !GradMode.IsInference)
            throw new InvalidOperationException(
                $"{opName}: Inference tensors cannot be saved for backward. To work around you can make a clone to get a normal tensor and use it in autograd.");
        tensor.ThrowIfDisposed();
        if (!tensor.Storage.TryRetain(tensor.StorageGeneration))
            throw new ObjectDisposedException(nameof(Tensor), "The tensor's storage was released.");
        _original = tensor;
        Interlocked.Increment(ref tensor.SavedCount); // never recycled while saved
        _held = tensor.Storage;
        _gradFn = tensor.GradFnNode;
        _countsGradFn = _gradFn is not null && !ReferenceEquals(_gradFn, owner) && !(owner?.HasEdgeTo(_gradFn) ?? false);
        if (_countsGradFn) BackwardNode.Retain(_gradFn);
        _outputNr = tensor.OutputNr;
        _requiresGrad = tensor.LeafRequiresGrad;
        _accumulator = tensor.EnsureAccumulator(); // an alias built later must feed the same leaf
        _version = tensor.StorageVersion;
        _opName = opName;
    }

    public Tensor Unpack()
    {
        var original = Volatile.Read(ref _original) ?? throw new InvalidOperationException(
            "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). " +
            "Saved intermediate values of the graph are freed when you call .Backward() or Autograd.Grad(). " +
            "Specify retainGraph: true if you need to backward through the graph a second time or if you need to access saved tensors after calling backward.");
        int version = _held.Version;
        if (version != _version)
            throw new InvalidOperationException(
                $"one of the variables needed for gradient computation has been modified by an inplace operation: " +
                $"[{original.DType.TorchName()} {Shapes.Format(original.Shape)}] is at version {version}; expected version {_version} instead " +
                $"(the tensor was saved by {_opName}).");
        if (!original.IsDisposed && original.HasAutogradIdentity(_gradFn, _outputNr, _requiresGrad)) return original;
        return Volatile.Read(ref _alias) ?? MakeAlias(original);
    }

    private Tensor MakeAlias(Tensor original)
    {
        var alias = original.AliasForSave(_gradFn, _outputNr, _requiresGrad, _accumulator);
        var raced = Interlocked.CompareExchange(ref _alias, alias, null);
        if (raced is null) return alias;
        alias.Dispose(); // another pass built one first
        return raced;
    }

    public string Describe() => Volatile.Read(ref _original) is { } t ? Shapes.Format(t.Shape) : "freed";

    public void Release(ThreadState state) // on the array element: `saved[i].Release(state)`
    {
        // A plain read first: a recycled node releases what its backward already released, and an exchange is an atomic.
        if (Volatile.Read(ref _original) is null || Interlocked.Exchange(ref _original, null) is not { } original) return;
        Interlocked.Decrement(ref original.SavedCount);
        if (Volatile.Read(ref _alias) is not null) Interlocked.Exchange(ref _alias, null)?.Dispose(state);
        _held.Release(state);
        if (_countsGradFn) BackwardNode.Release(_gradFn, state);
    }
}
