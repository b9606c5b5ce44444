namespace NativeGrad.NN;

/// <summary>
/// A lookup table of <see cref="NumEmbeddings"/> vectors of size <see cref="EmbeddingDim"/>, PyTorch's
/// <c>nn.Embedding</c>: the weight is initialised from N(0, 1); the input is an int64 tensor of indices of any shape.
/// </summary>
/// <example>
/// <code>
/// var emb = new Embedding(1000, 64);
/// var vectors = emb.Call(Tensor.FromArray(new long[] { 3, 14, 15 })); // [3, 64]
/// </code>
/// </example>
public sealed class Embedding : Module
{
    /// <summary>Creates the table.</summary>
    /// <param name="numEmbeddings">The number of rows (the vocabulary size).</param>
    /// <param name="embeddingDim">The size of each vector.</param>
    /// <param name="generator">The random source of the initial weights (default: <see cref="Generator.Default"/>).</param>
    /// <param name="dtype">The weight's dtype (default: <see cref="Tensor.DefaultDType"/>).</param>
    public Embedding(long numEmbeddings, long embeddingDim, Generator? generator = null, DType? dtype = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(numEmbeddings);
        ArgumentOutOfRangeException.ThrowIfNegative(embeddingDim);
        NumEmbeddings = numEmbeddings;
        EmbeddingDim = embeddingDim;
        Weight = RegisterParameter("weight", Tensor.Zeros([numEmbeddings, embeddingDim], dtype ?? Tensor.DefaultDType));
        Init.Normal_(Weight, 0.0, 1.0, generator);
    }

    /// <summary>The number of rows.</summary>
    public long NumEmbeddings { get; }

    /// <summary>The size of each vector.</summary>
    public long EmbeddingDim { get; }

    /// <summary>The table, [num_embeddings, embedding_dim].</summary>
    public Tensor Weight { get; }

    /// <summary>The rows at <paramref name="input"/>: shape [*input.shape, embedding_dim].</summary>
    /// <param name="input">An int64 tensor of indices in [0, num_embeddings).</param>
    public override Tensor Forward(Tensor input) => Functional.Embedding(input, Weight);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"{NumEmbeddings}, {EmbeddingDim}";
}
