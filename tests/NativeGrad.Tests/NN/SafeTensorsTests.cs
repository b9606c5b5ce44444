using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using NativeGrad.NN;
using NativeGrad.Serialization;
using Xunit;

namespace NativeGrad.Tests;

public class SafeTensorsTests
{
    /// <summary>tests/NativeGrad.Tests/fixtures/, found from this source file (the fixture is read where it is committed).</summary>
    private static string FixturePath(string name, [CallerFilePath] string here = "")
        => Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(here))!, "fixtures", name);

    [Fact]
    public void ModelWeightsRoundTripThroughAFile()
    {
        var model = new Sequential(new Linear(4, 3, generator: new Generator(1)), new ReLU(), new LayerNorm(3), new Linear(3, 2, generator: new Generator(2)));
        var path = Path.Combine(Path.GetTempPath(), $"nativegrad-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafeTensors.SaveModel(model, path);
            var copy = new Sequential(new Linear(4, 3, generator: new Generator(3)), new ReLU(), new LayerNorm(3), new Linear(3, 2, generator: new Generator(4)));
            SafeTensors.LoadModel(copy, path);
            foreach (var ((name, expected), (copyName, actual)) in model.NamedParameters().Zip(copy.NamedParameters()))
            {
                Assert.Equal(name, copyName);
                Assert.Equal(expected.ToArray<float>(), actual.ToArray<float>());
            }
            Assert.Equal("pt", SafeTensors.ReadMetadata(path)["format"]);
            Assert.Equal(new[] { "0.bias", "0.weight", "2.bias", "2.weight", "3.bias", "3.weight" }, SafeTensors.Load(path).Keys);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void EveryDTypeShapeAndEdgeValueRoundTripsThroughBytes()
    {
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = Tensor.FromArray([float.MinValue, -0f, float.Epsilon, float.PositiveInfinity, float.NaN, 1.5f], 2, 3),
            ["f64"] = Tensor.FromArray([Math.PI, -1e-308, double.MaxValue], 3, 1, 1),
            ["i64"] = Tensor.FromArray([long.MinValue, 0L, long.MaxValue], 3),
            ["scalar"] = Tensor.Scalar(2.5, DType.Float64),
            ["empty"] = Tensor.Zeros(0, 5),
            ["strided"] = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3).T, // written row-major as the transpose
            ["ünïcode name"] = Tensor.Ones(1),
        };
        var bytes = SafeTensors.Serialize(tensors, new Dictionary<string, string> { ["note"] = "hello" });
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        Assert.Equal(0, headerLength % 8);
        Assert.Equal((byte)'{', bytes[8]);

        var (loaded, metadata) = SafeTensors.Deserialize(bytes);
        Assert.Equal("hello", metadata["note"]);
        Assert.Equal(tensors.Count, loaded.Count);
        foreach (var (name, original) in tensors)
        {
            var copy = loaded[name];
            Assert.Equal(original.DType, copy.DType);
            Assert.Equal(original.Shape.ToArray(), copy.Shape.ToArray());
            Assert.Equal(original.ToDoubleArray(), copy.ToDoubleArray());
        }
        Assert.Equal(new[] { 1f, 4f, 2f, 5f, 3f, 6f }, loaded["strided"].ToArray<float>());
    }

    [Fact]
    public void WritesTheReferenceLayoutOrderedByAlignmentThenName()
    {
        var bytes = SafeTensors.Serialize(new Dictionary<string, Tensor>
        {
            ["b"] = Tensor.Zeros([1], DType.Float32),
            ["a"] = Tensor.Zeros([1], DType.Float32),
            ["z"] = Tensor.Zeros([1], DType.Int64),
        });
        string header = Encoding.UTF8.GetString(bytes, 8, (int)BinaryPrimitives.ReadInt64LittleEndian(bytes)).TrimEnd(' ');
        Assert.Equal("{\"z\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", header);
    }

    [Fact]
    public void ReadsAFileWrittenByAnotherToolWithEveryDType()
    {
        // Written by fixtures/make_safetensors_fixture.py (Python's standard library, following the format spec).
        var path = FixturePath("fixture.safetensors");
        var t = SafeTensors.Load(path);
        Assert.Equal(new[] { "double.matrix", "int.indices", "counts", "empty", "linear.bias", "linear.weight", "scalar", "bfloat", "half", "bytes", "mask" }, t.Keys);

        Assert.Equal(DType.Float32, t["linear.weight"].DType);
        Assert.Equal(new long[] { 2, 3 }, t["linear.weight"].Shape.ToArray());
        Assert.Equal(new[] { -1f, -0.5f, 0f, 0.5f, 1f, 1.5f }, t["linear.weight"].ToArray<float>());
        Assert.Equal(new[] { 0.25f, -0.75f }, t["linear.bias"].ToArray<float>());
        Assert.Equal(new[] { 1.0 / 3.0, -2.0 / 3.0, 1e-300, 12345.678901234567 }, t["double.matrix"].ToArray<double>());
        Assert.Equal(new[] { -(1L << 40), 0L, 1L << 62 }, t["int.indices"].ToArray<long>());
        Assert.Equal(0, t["scalar"].Dim);
        Assert.Equal(3.5, t["scalar"].Item());
        Assert.Equal(new long[] { 0, 4 }, t["empty"].Shape.ToArray());
        Assert.Equal(new[] { 1f, -2.5f, 0.0009765625f, 65504f }, t["half"].ToArray<float>());   // F16 -> float32
        Assert.Equal(new[] { 1f, -3f }, t["bfloat"].ToArray<float>());                             // BF16 -> float32
        Assert.Equal(new[] { 7L, -8L, int.MaxValue, int.MinValue }, t["counts"].ToArray<long>());  // I32 -> int64
        Assert.Equal(new[] { 0L, 128L, 255L }, t["bytes"].ToArray<long>());
        Assert.Equal(new[] { 1L, 0L }, t["mask"].ToArray<long>());
        Assert.Equal("make_safetensors_fixture.py", SafeTensors.ReadMetadata(path)["producer"]);

        // The Linear weights load into a module by their state-dict names.
        var model = new Sequential(new Linear(3, 2));
        var state = new Dictionary<string, Tensor> { ["0.weight"] = t["linear.weight"], ["0.bias"] = t["linear.bias"] };
        model.LoadStateDict(state);
        var y = model.Call(Tensor.FromArray([1f, 1f, 1f], 1, 3)).ToArray<float>();
        Assert.Equal(new[] { -1.5f + 0.25f, 3f - 0.75f }, y);
    }

    [Fact]
    public void MalformedFilesAreRejectedWithTheReason()
    {
        var good = SafeTensors.Serialize(new Dictionary<string, Tensor> { ["a"] = Tensor.Zeros(2), ["b"] = Tensor.Zeros(2) });
        Assert.Contains("too short", Assert.Throws<InvalidDataException>(() => SafeTensors.Deserialize(good.AsSpan(0, 4))).Message);
        Assert.Contains("runs past the end", Assert.Throws<InvalidDataException>(() => SafeTensors.Deserialize(good.AsSpan(0, 20))).Message);
        Assert.Contains("data section holds", Assert.Throws<InvalidDataException>(() => SafeTensors.Deserialize(good.AsSpan(0, good.Length - 1))).Message);

        static byte[] File(string header, int dataBytes)
        {
            var h = Encoding.UTF8.GetBytes(header);
            var bytes = new byte[8 + h.Length + dataBytes];
            BinaryPrimitives.WriteInt64LittleEndian(bytes, h.Length);
            h.CopyTo(bytes, 8);
            return bytes;
        }
        Assert.Contains("not valid JSON", Assert.Throws<InvalidDataException>(() => SafeTensors.Deserialize(File("{\"a\":", 0))).Message);
        Assert.Contains("needs 8 bytes", Assert.Throws<InvalidDataException>(() => SafeTensors.Deserialize(File("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4))).Message);
        Assert.Contains("tile the data", Assert.Throws<InvalidDataException>(() => SafeTensors.Deserialize(File(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8))).Message);
        Assert.Contains("F8_E4M3", Assert.Throws<NotSupportedException>(() => SafeTensors.Deserialize(File("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1))).Message);
        Assert.Throws<ArgumentException>(() => SafeTensors.Serialize(new Dictionary<string, Tensor> { ["__metadata__"] = Tensor.Zeros(1) }));
    }
}
