namespace NativeGrad;

/// <summary>
/// A growable list of references kept in struct slots. Storing a reference into an array of a non-sealed class type
/// (or through <see cref="List{T}"/>'s shared generic code) costs an array-covariance check per store; an array of
/// structs has none. Used where lists are filled per op or per backward pass (scopes' tensors, the engine's walk).
/// </summary>
internal sealed class SlotList<T> where T : class
{
    /// <summary>One element.</summary>
    internal struct Slot
    {
        public T Item;
    }

    private Slot[] _items = new Slot[16];

    public int Count { get; private set; }

    public int Capacity => _items.Length;

    public T this[int index]
    {
        get => _items[index].Item;
        set => _items[index].Item = value;
    }

    /// <summary>The elements in place (for sorting them).</summary>
    public Span<Slot> Slots => _items.AsSpan(0, Count);

    public void Add(T item)
    {
        if (Count == _items.Length) Array.Resize(ref _items, _items.Length * 2);
        _items[Count++].Item = item;
    }

    /// <summary>Removes and returns the last element.</summary>
    public T Pop()
    {
        var item = _items[--Count].Item;
        _items[Count].Item = null!;
        return item;
    }

    public int LastIndexOf(T item)
    {
        for (int i = Count - 1; i >= 0; i--)
            if (ReferenceEquals(_items[i].Item, item)) return i;
        return -1;
    }

    public void RemoveAt(int index)
    {
        Array.Copy(_items, index + 1, _items, index, Count - index - 1);
        _items[--Count].Item = null!;
    }

    /// <summary>Empties the list (dropping its references; the capacity stays).</summary>
    public void Clear()
    {
        if (Count == 0) return;
        _items.AsSpan(0, Count).Clear();
        Count = 0;
    }
}
