namespace NativeGrad.Autograd;

/// <summary>
/// A tensor saved for backward: an alias that holds its own reference to the storage (so disposing the
/// original does not free memory the graph still needs) and the storage version at save time (so an in-place
/// change afterwards is detected instead of silently giving wrong gradients). A struct kept in its node's array:
/// call <see cref="Release"/> on the array element (never on a copy).
/// </summary>
internal struct SavedTensor
{
    private Tensor? _alias;
    private readonly int _version;
    private readonly string _opName;

    public SavedTensor(Tensor tensor, string opName)
    {
        if (tensor.IsInference && !GradMode.IsInference)
            throw new InvalidOperationException(
                $"{opName}: Inference tensors cannot be saved for backward. To work around you can make a clone to get a normal tensor and use it in autograd.");
        _alias = tensor.AliasForSave();
        _version = tensor.StorageVersion;
        _opName = opName;
    }

    public Tensor Unpack()
    {
        var alias = _alias ?? throw new InvalidOperationException(
            "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). " +
            "Saved intermediate values of the graph are freed when you call .Backward() or Autograd.Grad(). " +
            "Specify retainGraph: true if you need to backward through the graph a second time or if you need to access saved tensors after calling backward.");
        if (alias.StorageVersion != _version)
            throw new InvalidOperationException(
                $"one of the variables needed for gradient computation has been modified by an inplace operation: " +
                $"[{alias.DType.TorchName().Replace("torch.", "torch.")} {Shapes.Format(alias.Shape)}] is at version {alias.StorageVersion}; expected version {_version} instead " +
                $"(the tensor was saved by {_opName}).");
        return alias;
    }

    public string Describe() => _alias is { } a ? Shapes.Format(a.Shape) : "freed";

    public void Release() // on the array element: `saved[i].Release()`
    {
        var alias = Interlocked.Exchange(ref _alias, null);
        alias?.Dispose();
    }
}
