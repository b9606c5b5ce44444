using System.Runtime.CompilerServices;

namespace NativeGrad.Autograd;

/// <summary>
/// What a backward formula returns: one gradient per forward input (null where none is needed). Written as a
/// collection expression, <c>[ga, gb]</c>, which builds it on the stack: up to four gradients live in the struct
/// itself, more in an array. The node copies them into an array the engine reuses, so a backward pass allocates
/// no array per node.
/// </summary>
[CollectionBuilder(typeof(InputGrads), nameof(Create))]
internal readonly struct InputGrads
{
    private readonly Tensor? _g0, _g1, _g2, _g3;
    private readonly Tensor?[]? _many;

    /// <summary>How many gradients (the forward's input count).</summary>
    public int Count { get; }

    private InputGrads(ReadOnlySpan<Tensor?> grads)
    {
        Count = grads.Length;
        if (grads.Length > 4) { _many = grads.ToArray(); return; }
        if (grads.Length > 0) _g0 = grads[0];
        if (grads.Length > 1) _g1 = grads[1];
        if (grads.Length > 2) _g2 = grads[2];
        if (grads.Length > 3) _g3 = grads[3];
    }

    private InputGrads(Tensor?[] many)
    {
        Count = many.Length;
        _many = many;
    }

    /// <summary>The collection-expression builder.</summary>
    public static InputGrads Create(ReadOnlySpan<Tensor?> grads) => new(grads);

    /// <summary>A formula that builds its gradients in an array (ops with a variable number of inputs).</summary>
    public static implicit operator InputGrads(Tensor?[] grads) => new(grads);

    public Tensor? this[int index] => _many is not null ? _many[index] : index switch
    {
        0 => _g0,
        1 => _g1,
        2 => _g2,
        3 => _g3,
        _ => throw new IndexOutOfRangeException(),
    };

    /// <summary>Copies the gradients into <paramref name="destination"/> (of <see cref="Count"/> elements).</summary>
    public void CopyTo(Tensor?[] destination)
    {
        for (int i = 0; i < Count; i++) destination[i] = this[i];
    }

    public Enumerator GetEnumerator() => new(this);

    /// <summary>Enumerates the gradients (the pattern a collection-expression type needs).</summary>
    public struct Enumerator(InputGrads grads)
    {
        private int _index = -1;

        public readonly Tensor? Current => grads[_index];

        public bool MoveNext() => ++_index < grads.Count;
    }
}

/// <summary>
/// Gradient arrays of one to four elements for one thread's backward passes: the engine's per-node gradient slots and
/// the arrays nodes return their input gradients in. Given back once the engine distributed their contents (never
/// when a hook saw them), so a steady backward pass allocates none.
/// </summary>
internal sealed class GradArrayPool
{
    private const int MaxLength = 4, MaxPerLength = 64;
    private readonly Tensor?[][][] _spares = [new Tensor?[MaxPerLength][], new Tensor?[MaxPerLength][], new Tensor?[MaxPerLength][], new Tensor?[MaxPerLength][]];
    private readonly int[] _counts = new int[MaxLength];

    public Tensor?[] Rent(int length)
    {
        if (length is > 0 and <= MaxLength)
        {
            ref int count = ref _counts[length - 1];
            if (count > 0) return _spares[length - 1][--count];
            return new Tensor?[length];
        }
        return length == 0 ? [] : new Tensor?[length];
    }

    public void Return(Tensor?[] array)
    {
        if (array.Length is 0 or > MaxLength) return;
        ref int count = ref _counts[array.Length - 1];
        if (count == MaxPerLength) return;
        for (int i = 0; i < array.Length; i++) array[i] = null;
        _spares[array.Length - 1][count++] = array;
    }
}
