namespace NativeGrad.NN;

/// <summary>Flattens dims <see cref="StartDim"/>..<see cref="EndDim"/> into one, PyTorch's <c>nn.Flatten</c> (by default all but the batch dim).</summary>
public sealed class Flatten : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="startDim">The first dim to flatten (default 1: keep the batch dim).</param>
    /// <param name="endDim">The last dim to flatten (default -1: the last).</param>
    public Flatten(long startDim = 1, long endDim = -1)
    {
        StartDim = startDim;
        EndDim = endDim;
    }

    /// <summary>The first dim flattened.</summary>
    public long StartDim { get; }

    /// <summary>The last dim flattened.</summary>
    public long EndDim { get; }

    /// <summary>A view (or copy, for non-contiguous input) with the dims merged.</summary>
    /// <param name="input">Any tensor.</param>
    public override Tensor Forward(Tensor input) => input.Flatten(StartDim, EndDim);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"start_dim={StartDim}, end_dim={EndDim}";
}
