using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using NativeGrad.NN;

namespace NativeGrad.Serialization;

/// <summary>
/// Reads and writes the safetensors format, the weight format PyTorch and Hugging Face users exchange:
/// an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// (<c>{"__metadata__": {"k": "v"}, "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, …}</c>,
/// offsets relative to the data section), then the raw little-endian data of every tensor, back to back.
/// Files are written as the reference implementation writes them (tensors ordered by alignment then name, header
/// padded with spaces to 8 bytes) and read with its checks (offsets contiguous and covering the data exactly).
/// Float32, float64 and int64 tensors round-trip; F16 and BF16 load as float32 and I8/I16/I32/U8/BOOL as int64.
/// </summary>
/// <example>
/// <code>
/// SafeTensors.SaveModel(model, "model.safetensors");
/// SafeTensors.LoadModel(model, "model.safetensors");       // the names are PyTorch's state-dict keys
/// var tensors = SafeTensors.Load("from-pytorch.safetensors");
/// </code>
/// </example>
public static class SafeTensors
{
    /// <summary>The largest header the reference implementation accepts (100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    /// <summary>Writes <paramref name="tensors"/> (and optional string metadata) to <paramref name="path"/> (PyTorch's <c>save_file</c>).</summary>
    /// <param name="tensors">Tensors by name (e.g. a <see cref="Module.StateDict"/>).</param>
    /// <param name="path">The file to create or overwrite.</param>
    /// <param name="metadata">Free-form string pairs stored under "__metadata__".</param>
    public static void Save(IEnumerable<KeyValuePair<string, Tensor>> tensors, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        Write(tensors, file, metadata);
    }

    /// <summary>The bytes of a safetensors file holding <paramref name="tensors"/> (PyTorch's <c>save</c>).</summary>
    /// <param name="tensors">Tensors by name.</param>
    /// <param name="metadata">Free-form string pairs stored under "__metadata__".</param>
    public static byte[] Serialize(IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var memory = new MemoryStream();
        Write(tensors, memory, metadata);
        return memory.ToArray();
    }

    /// <summary>Writes a safetensors file to <paramref name="stream"/>.</summary>
    /// <param name="tensors">Tensors by name.</param>
    /// <param name="stream">A writable stream.</param>
    /// <param name="metadata">Free-form string pairs stored under "__metadata__".</param>
    public static void Write(IEnumerable<KeyValuePair<string, Tensor>> tensors, Stream stream, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(stream);
        var entries = new List<(string Name, Tensor Tensor)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            ArgumentNullException.ThrowIfNull(tensor, name);
            if (string.IsNullOrEmpty(name) || name == MetadataKey) throw new ArgumentException($"\"{name}\" cannot name a tensor in a safetensors file.", nameof(tensors));
            if (!names.Add(name)) throw new ArgumentException($"The tensor name \"{name}\" appears twice.", nameof(tensors));
            tensor.ThrowIfDisposed();
            entries.Add((name, tensor));
        }
        // The reference writer's order: larger dtype alignment first, then by name; that keeps every tensor aligned.
        entries.Sort((a, b) =>
        {
            int bySize = b.Tensor.DType.ElementSize().CompareTo(a.Tensor.DType.ElementSize());
            return bySize != 0 ? bySize : string.CompareOrdinal(a.Name, b.Name);
        });

        var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) json.WriteString(k, v);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, tensor) in entries)
            {
                long bytes = tensor.NumElements * tensor.DType.ElementSize();
                json.WriteStartObject(name);
                json.WriteString("dtype", tensor.DType switch { DType.Float32 => "F32", DType.Float64 => "F64", _ => "I64" });
                json.WriteStartArray("shape");
                foreach (long d in tensor.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        int padding = (8 - (int)(header.Length % 8)) % 8;
        for (int i = 0; i < padding; i++) header.WriteByte((byte)' ');

        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        header.Position = 0;
        header.CopyTo(stream);
        foreach (var (_, tensor) in entries) WriteData(tensor, stream);
        stream.Flush();
    }

    private static unsafe void WriteData(Tensor tensor, Stream stream)
    {
        var contiguous = Ops.Kernels.Contiguous(tensor);
        long bytes = contiguous.NumElements * contiguous.DType.ElementSize();
        byte* p = (byte*)contiguous.DataPointer;
        const int Chunk = 1 << 20;
        var swapped = BitConverter.IsLittleEndian ? null : new byte[Chunk];
        for (long done = 0; done < bytes; done += Chunk)
        {
            int n = (int)Math.Min(Chunk, bytes - done);
            var span = new ReadOnlySpan<byte>(p + done, n);
            if (swapped is not null)
            {
                span.CopyTo(swapped);
                ReverseElements(swapped.AsSpan(0, n), contiguous.DType.ElementSize());
                span = swapped.AsSpan(0, n);
            }
            stream.Write(span);
        }
        if (!ReferenceEquals(contiguous, tensor)) contiguous.Dispose();
    }

    /// <summary>Reads every tensor of the file at <paramref name="path"/>, in the file's order (PyTorch's <c>load_file</c>).</summary>
    /// <param name="path">A safetensors file.</param>
    public static OrderedDictionary<string, Tensor> Load(string path) => Deserialize(File.ReadAllBytes(path)).Tensors;

    /// <summary>The "__metadata__" pairs of the file at <paramref name="path"/> (empty when it has none); reads the header only.</summary>
    /// <param name="path">A safetensors file.</param>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> length = stackalloc byte[8];
        file.ReadExactly(length);
        long n = CheckHeaderLength(BinaryPrimitives.ReadUInt64LittleEndian(length), file.Length);
        var header = new byte[n];
        file.ReadExactly(header);
        return ParseHeader(header, file.Length - 8 - n).Metadata;
    }

    /// <summary>Reads tensors and metadata from the bytes of a safetensors file (PyTorch's <c>load</c>).</summary>
    /// <param name="data">The whole file.</param>
    public static (OrderedDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata) Deserialize(ReadOnlySpan<byte> data)
    {
        if (data.Length < 8) throw new InvalidDataException($"safetensors: {data.Length} bytes is too short for the 8-byte header length.");
        long n = CheckHeaderLength(BinaryPrimitives.ReadUInt64LittleEndian(data), data.Length);
        var body = data[(int)(8 + n)..];
        var (entries, metadata) = ParseHeader(data.Slice(8, (int)n), body.Length);
        var tensors = new OrderedDictionary<string, Tensor>();
        foreach (var e in entries) tensors.Add(e.Name, ToTensor(e, body.Slice((int)e.Begin, (int)(e.End - e.Begin))));
        return (tensors, metadata);
    }

    private static long CheckHeaderLength(ulong n, long fileLength)
    {
        if (n > MaxHeaderBytes) throw new InvalidDataException($"safetensors: the header length {n} exceeds the limit of {MaxHeaderBytes} bytes.");
        if ((long)n > fileLength - 8) throw new InvalidDataException($"safetensors: the header length {n} runs past the end of the {fileLength}-byte file.");
        return (long)n;
    }

    private sealed record Entry(string Name, string DType, long[] Shape, long Begin, long End);

    private static (List<Entry> Entries, IReadOnlyDictionary<string, string> Metadata) ParseHeader(ReadOnlySpan<byte> header, long dataLength)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header.ToArray()); }
        catch (JsonException e) { throw new InvalidDataException($"safetensors: the header is not valid JSON ({e.Message}).", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException("safetensors: the header must be a JSON object.");
            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    if (property.Value.ValueKind != JsonValueKind.Object) throw new InvalidDataException("safetensors: \"__metadata__\" must map strings to strings.");
                    foreach (var kv in property.Value.EnumerateObject())
                    {
                        if (kv.Value.ValueKind != JsonValueKind.String) throw new InvalidDataException($"safetensors: metadata value \"{kv.Name}\" is not a string.");
                        metadata[kv.Name] = kv.Value.GetString()!;
                    }
                    continue;
                }
                entries.Add(ParseEntry(property));
            }
            CheckLayout(entries, dataLength);
            return (entries, metadata);
        }
    }

    private static Entry ParseEntry(JsonProperty property)
    {
        string name = property.Name;
        var info = property.Value;
        if (info.ValueKind != JsonValueKind.Object
            || !info.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String
            || !info.TryGetProperty("shape", out var shape) || shape.ValueKind != JsonValueKind.Array
            || !info.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw new InvalidDataException($"safetensors: tensor \"{name}\" needs \"dtype\", \"shape\" and two \"data_offsets\".");
        var dims = new long[shape.GetArrayLength()];
        int i = 0;
        foreach (var d in shape.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out dims[i]) || dims[i] < 0)
                throw new InvalidDataException($"safetensors: tensor \"{name}\" has an invalid shape {shape}.");
            i++;
        }
        if (!offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw new InvalidDataException($"safetensors: tensor \"{name}\" has invalid data_offsets {offsets}.");
        string type = dtype.GetString()!;
        int size = ElementSize(type) ?? throw new NotSupportedException(
            $"safetensors: tensor \"{name}\" has dtype {type}; NativeGrad reads F64, F32, F16, BF16, I64, I32, I16, I8, U8 and BOOL.");
        long count;
        try { count = Shapes.NumElements(dims); }
        catch (ArgumentException e) { throw new InvalidDataException($"safetensors: tensor \"{name}\" has an invalid shape {shape}.", e); }
        if ((end - begin) != count * size)
            throw new InvalidDataException($"safetensors: tensor \"{name}\" ({type} {Shapes.Format(dims)}) needs {count * size} bytes but its data_offsets [{begin}, {end}] span {end - begin}.");
        return new Entry(name, type, dims, begin, end);
    }

    /// <summary>The reference reader's rule: sorted by offset, the tensors tile the data section with no gap, overlap or tail.</summary>
    private static void CheckLayout(List<Entry> entries, long dataLength)
    {
        long position = 0;
        foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.Begin != position) throw new InvalidDataException($"safetensors: tensor \"{e.Name}\" starts at byte {e.Begin} of the data, expected {position} (the tensors must tile the data without gaps or overlap).");
            position = e.End;
        }
        if (position != dataLength) throw new InvalidDataException($"safetensors: the tensors cover {position} bytes but the data section holds {dataLength}.");
    }

    private static int? ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" => 8,
        "F32" or "I32" => 4,
        "F16" or "BF16" or "I16" => 2,
        "I8" or "U8" or "BOOL" => 1,
        _ => null,
    };

    private static unsafe Tensor ToTensor(Entry e, ReadOnlySpan<byte> bytes)
    {
        var dtype = e.DType switch { "F64" => DType.Float64, "F32" or "F16" or "BF16" => DType.Float32, _ => DType.Int64 };
        var result = Tensor.Empty(e.Shape, dtype);
        long count = result.NumElements;
        if (count == 0) return result;
        void* dst = result.DataPointer;
        switch (e.DType)
        {
            case "F64" or "I64" or "F32":
                bytes.CopyTo(new Span<byte>(dst, bytes.Length));
                if (!BitConverter.IsLittleEndian) ReverseElements(new Span<byte>(dst, bytes.Length), dtype.ElementSize());
                break;
            case "F16":
                for (long i = 0; i < count; i++) ((float*)dst)[i] = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(int)(2 * i)..]));
                break;
            case "BF16":
                for (long i = 0; i < count; i++) ((float*)dst)[i] = BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(bytes[(int)(2 * i)..]) << 16);
                break;
            case "I32":
                for (long i = 0; i < count; i++) ((long*)dst)[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(int)(4 * i)..]);
                break;
            case "I16":
                for (long i = 0; i < count; i++) ((long*)dst)[i] = BinaryPrimitives.ReadInt16LittleEndian(bytes[(int)(2 * i)..]);
                break;
            case "I8":
                for (long i = 0; i < count; i++) ((long*)dst)[i] = (sbyte)bytes[(int)i];
                break;
            default: // U8, BOOL
                for (long i = 0; i < count; i++) ((long*)dst)[i] = bytes[(int)i];
                break;
        }
        return result;
    }

    private static void ReverseElements(Span<byte> data, int size)
    {
        for (int i = 0; i + size <= data.Length; i += size) data.Slice(i, size).Reverse();
    }

    /// <summary>Saves <paramref name="module"/>'s state dict to <paramref name="path"/> (safetensors' <c>save_model</c>).</summary>
    /// <param name="module">The model.</param>
    /// <param name="path">The file to create or overwrite.</param>
    /// <param name="metadata">Free-form string pairs stored under "__metadata__" (default: {"format": "pt"}, as PyTorch writes).</param>
    public static void SaveModel(Module module, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        Save(module.StateDict(), path, metadata ?? new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>Loads the file at <paramref name="path"/> into <paramref name="module"/>'s parameters and buffers, in place (safetensors' <c>load_model</c>).</summary>
    /// <param name="module">The model.</param>
    /// <param name="path">A safetensors file whose names are the module's state-dict keys.</param>
    /// <param name="strict">Require the names to match exactly.</param>
    public static LoadStateDictResult LoadModel(Module module, string path, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        var tensors = Load(path);
        try { return module.LoadStateDict(tensors, strict); }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }
}
