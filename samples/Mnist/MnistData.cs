using System.Buffers.Binary;
using System.IO.Compression;

namespace NativeGrad.Samples.Mnist;

/// <summary>
/// MNIST digits in memory: 28×28 uint8 images and their labels, read from gzip-compressed IDX files (the format of
/// the original distribution: a big-endian header of magic number and sizes, then raw bytes).
/// </summary>
internal sealed class MnistData
{
    public const int Side = 28, Pixels = Side * Side;

    // Normalisation of the classic MNIST training set (mean and standard deviation of pixel / 255).
    private const float Mean = 0.1307f, Std = 0.3081f;

    private readonly byte[] _images;
    private readonly byte[] _labels;

    private MnistData(byte[] images, byte[] labels)
    {
        _images = images;
        _labels = labels;
    }

    public int Count => _labels.Length;

    public static MnistData Load(string imagesPath, string labelsPath)
    {
        var images = ReadIdx(imagesPath, 0x803, out var imageDims);
        var labels = ReadIdx(labelsPath, 0x801, out var labelDims);
        if (imageDims[1] != Side || imageDims[2] != Side || imageDims[0] != labelDims[0])
            throw new InvalidDataException($"expected {labelDims[0]} images of {Side}x{Side}, found {string.Join("x", imageDims)}");
        if (labels.Any(l => l > 9)) throw new InvalidDataException("labels must be digits 0-9");
        return new MnistData(images, labels);
    }

    private static byte[] ReadIdx(string path, int magic, out int[] dims)
    {
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var memory = new MemoryStream();
        gzip.CopyTo(memory);
        var bytes = memory.GetBuffer().AsSpan(0, (int)memory.Length);
        int found = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (found != magic) throw new InvalidDataException($"{path}: IDX magic 0x{found:x8}, expected 0x{magic:x8}");
        int rank = magic & 0xff;
        dims = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++) count *= dims[i] = BinaryPrimitives.ReadInt32BigEndian(bytes[(4 + 4 * i)..]);
        int offset = 4 + 4 * rank;
        if (bytes.Length - offset != count) throw new InvalidDataException($"{path}: {bytes.Length - offset} data bytes for dims {string.Join("x", dims)}");
        return bytes[offset..].ToArray();
    }

    /// <summary>A seeded, shuffled split into a training set and a test set of <paramref name="testCount"/> digits.</summary>
    public (MnistData Train, MnistData Test) Split(int testCount, int seed)
    {
        var order = Enumerable.Range(0, Count).ToArray();
        new Random(seed).Shuffle(order);
        return (Subset(order.AsSpan(testCount)), Subset(order.AsSpan(0, testCount)));
    }

    private MnistData Subset(ReadOnlySpan<int> indices)
    {
        var images = new byte[indices.Length * Pixels];
        var labels = new byte[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            _images.AsSpan(indices[i] * Pixels, Pixels).CopyTo(images.AsSpan(i * Pixels));
            labels[i] = _labels[indices[i]];
        }
        return new MnistData(images, labels);
    }

    /// <summary>
    /// The normalised images at <paramref name="indices"/> as float32 [B, 784] (or [B, 1, 28, 28] for convolutions),
    /// their labels as int64 [B], and the labels as bytes for counting correct answers.
    /// </summary>
    /// <param name="indices">The digits of the batch.</param>
    /// <param name="imageShape">Shape the images [B, 1, 28, 28] instead of [B, 784].</param>
    /// <param name="shifts">When given, each image is translated by a random -2..2 pixels in x and y (augmentation).</param>
    public (Tensor Images, Tensor Targets, byte[] Labels) Batch(ReadOnlySpan<int> indices, bool imageShape, Random? shifts = null)
    {
        var pixels = new float[indices.Length * Pixels];
        var targets = new long[indices.Length];
        var labels = new byte[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            var image = _images.AsSpan(indices[i] * Pixels, Pixels);
            var row = pixels.AsSpan(i * Pixels, Pixels);
            int dx = shifts?.Next(-2, 3) ?? 0, dy = shifts?.Next(-2, 3) ?? 0;
            for (int y = 0; y < Side; y++)
                for (int x = 0; x < Side; x++)
                {
                    int sy = y - dy, sx = x - dx;
                    byte value = (uint)sy < Side && (uint)sx < Side ? image[sy * Side + sx] : (byte)0;
                    row[y * Side + x] = (value / 255f - Mean) / Std;
                }
            labels[i] = _labels[indices[i]];
            targets[i] = labels[i];
        }
        long[] shape = imageShape ? [indices.Length, 1, Side, Side] : [indices.Length, Pixels];
        return (Tensor.FromSpan<float>(pixels, shape), Tensor.FromArray(targets), labels);
    }
}
