using System.Text;

namespace NativeGrad;

/// <summary>Shape arithmetic shared by the ops: sizes, strides, broadcasting, dim wrapping, formatting.</summary>
internal static class Shapes
{
    public static readonly long[] Scalar = [];

    /// <summary>
    /// A shape or stride array with the contents of <paramref name="dims"/>, from this thread's cache when one was made
    /// recently: tensors never write to these arrays, so equal ones can be shared, and a training step that makes the
    /// same shapes every time allocates none. Callers must not write to the result.
    /// </summary>
    public static long[] Intern(ReadOnlySpan<long> dims) => dims.Length == 0 ? Scalar : ThreadState.Current.ShapeCache.Get(dims);

    /// <summary>Row-major strides of <paramref name="shape"/>, interned (see <see cref="Intern"/>).</summary>
    public static long[] InternedContiguousStrides(ReadOnlySpan<long> shape)
    {
        if (shape.Length == 0) return Scalar;
        Span<long> strides = shape.Length <= 16 ? stackalloc long[shape.Length] : new long[shape.Length];
        ContiguousStrides(shape, strides);
        return Intern(strides);
    }

    /// <summary>The recently made shape and stride arrays of a thread, by content: 256 slots, two-way set-associative.</summary>
    internal sealed class Cache
    {
        private readonly long[]?[] _slots = new long[]?[256];

        public long[] Get(ReadOnlySpan<long> dims)
        {
            if (dims.Length > 8) return dims.ToArray();
            ulong h = (ulong)dims.Length;
            foreach (long d in dims) h = (h ^ (ulong)d) * 0x9E3779B97F4A7C15UL;
            h ^= h >> 31; // the last dim's low bits reach the top ones ([256], [1, 256] and [256, 10] shared a set without it)
            h *= 0xBF58476D1CE4E5B9UL;
            // 128 sets of two (direct-mapped, two of W5's shapes evicted each other every step): newest first.
            int slot = (int)(h >> 57) * 2;
            var hit = _slots[slot];
            if (hit is not null && hit.AsSpan().SequenceEqual(dims)) return hit;
            hit = _slots[slot + 1];
            if (hit is not null && hit.AsSpan().SequenceEqual(dims)) return hit;
            _slots[slot + 1] = _slots[slot];
            return _slots[slot] = dims.ToArray();
        }
    }

    public static string Format(ReadOnlySpan<long> shape)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < shape.Length; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(shape[i]);
        }
        return sb.Append(']').ToString();
    }

    /// <summary>The element count; throws when it overflows a long.</summary>
    public static long NumElements(ReadOnlySpan<long> shape)
    {
        long n = 1;
        foreach (long d in shape)
        {
            if (d < 0) throw new ArgumentException($"Negative dimension {d} in shape {Format(shape)}.");
            try { n = checked(n * d); }
            catch (OverflowException) { throw new ArgumentException($"The shape {Format(shape)} has more elements than a long can count."); }
        }
        return n;
    }

    public static long[] ContiguousStrides(ReadOnlySpan<long> shape)
    {
        var strides = new long[shape.Length];
        ContiguousStrides(shape, strides);
        return strides;
    }

    /// <summary>Writes the row-major strides of <paramref name="shape"/> into <paramref name="strides"/>.</summary>
    public static void ContiguousStrides(ReadOnlySpan<long> shape, Span<long> strides)
    {
        long s = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= Math.Max(shape[i], 1);
        }
    }

    public static bool IsContiguous(ReadOnlySpan<long> shape, ReadOnlySpan<long> strides)
    {
        long expected = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] == 1) continue;
            if (strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    /// <summary>Wraps a possibly negative dim into [0, rank); PyTorch's message on failure.</summary>
    public static int WrapDim(long dim, int rank, string op)
    {
        int r = Math.Max(rank, 1);
        if (dim < -r || dim >= r)
            throw new ArgumentOutOfRangeException(nameof(dim), $"{op}: Dimension out of range (expected to be in range of [{-r}, {r - 1}], but got {dim})");
        return (int)(dim < 0 ? dim + r : dim);
    }

    /// <summary>NumPy broadcasting of two shapes; throws naming the op and both shapes.</summary>
    public static long[] Broadcast(ReadOnlySpan<long> a, ReadOnlySpan<long> b, string op)
    {
        int rank = Math.Max(a.Length, b.Length);
        Span<long> result = rank <= 16 ? stackalloc long[rank] : new long[rank];
        Broadcast(a, b, op, result);
        return Intern(result);
    }

    /// <summary>The broadcast shape of <paramref name="a"/> and <paramref name="b"/> written into <paramref name="result"/> (of the larger rank).</summary>
    public static void Broadcast(ReadOnlySpan<long> a, ReadOnlySpan<long> b, string op, Span<long> result)
    {
        int rank = result.Length;
        for (int i = 0; i < rank; i++)
        {
            long da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            long db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException(
                    $"{op}: shapes {Format(a)} and {Format(b)} cannot be broadcast: the size of tensor a ({da}) must match the size of tensor b ({db}) at non-singleton dimension {i}");
            result[i] = da == 1 ? db : da;
        }
    }

    /// <summary>The strides that read a tensor of (shape, strides) as if it had the broadcast shape <paramref name="target"/> (0 along broadcast dims), into <paramref name="result"/>.</summary>
    public static void BroadcastStrides(ReadOnlySpan<long> shape, ReadOnlySpan<long> strides, ReadOnlySpan<long> target, Span<long> result)
    {
        result.Clear();
        int offset = target.Length - shape.Length;
        for (int i = 0; i < shape.Length; i++)
            result[i + offset] = shape[i] == 1 && target[i + offset] != 1 ? 0 : strides[i];
    }

    public static bool SameShape(ReadOnlySpan<long> a, ReadOnlySpan<long> b) => a.SequenceEqual(b);
}
