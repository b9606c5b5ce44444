using System.Runtime.CompilerServices;
using NativeGrad.Autograd;
using NativeGrad.Storage;

namespace NativeGrad;

/// <summary>
/// An n-dimensional array of float32, float64 or int64 values with reverse-mode automatic differentiation,
/// PyTorch's <c>torch.Tensor</c>. Tensors are strided views of pooled, pinned storage; views (reshape, transpose,
/// narrow, …) share storage with their base. Dispose a tensor (or use <see cref="Scope"/>) to give its memory
/// back to the pool at once; a tensor that is never disposed is reclaimed by the GC.
/// </summary>
/// <example>
/// <code>
/// var x = Tensor.Ones(5);
/// var w = Tensor.Randn(5, 3).RequiresGrad_();
/// var loss = (x.MatMul(w)).Sum();
/// loss.Backward();
/// Console.WriteLine(w.Grad);
/// </code>
/// </example>
public sealed partial class Tensor : IDisposable
{
    // Set once per life of the object (see Tensor.Recycling.cs: with Runtime.RecycleTensors an object lives again).
    internal TensorStorage Storage = null!;
    internal long[] ShapeArray = null!;
    internal long[] StridesArray = null!;
    internal long Offset;
    private int _storageGeneration; // the storage's rental this tensor holds a reference to
    /// <summary>The backward pass that holds this tensor as a gradient now (0: none), and whether that pass gave it to two places (see Engine).</summary>
    internal int EngineRun;
    internal bool EngineShared;
    private int _disposed; // 1 once disposed; set with Interlocked so concurrent Disposes release the storage once

    // Autograd state.
    private bool _requiresGrad;
    private BackwardNode? _gradFn; // a counted reference (see BackwardNode.Recycling.cs): changed only through SetGradFn

    /// <summary>The node that produced this tensor (null for leaves), for NativeGrad's own use: reading it pins nothing.</summary>
    internal BackwardNode? GradFnNode => _gradFn;
    internal int OutputNr;
    private AccumulateGrad? _accumulator;
    private Tensor? _grad;
    private List<Action<Tensor>>? _postAccumulateHooks;
    private byte _flags; // the bits below: set when the tensor is created (RetainsGrad: by RetainGrad), so no racing writers

    private const byte ContiguousFlag = 1, InferenceFlag = 2, SavedAliasFlag = 4, RetainsGradFlag = 8;

    private void SetFlag(byte flag, bool on) => _flags = on ? (byte)(_flags | flag) : (byte)(_flags & ~flag);

    /// <summary>A view of <paramref name="source"/>'s storage (throws if it was released meanwhile, e.g. by a Dispose on another thread).</summary>
    internal static Tensor View(Tensor source, long[] shape, long[] strides, long offset)
        => Share(source, shape, strides, offset, track: true);

    /// <summary>An uninitialised contiguous tensor (internal: every op fills its output).</summary>
    internal static Tensor Empty(long[] shape, DType dtype) => Empty(shape, dtype, ThreadState.Current);

    /// <inheritdoc cref="Empty(long[], DType)"/>
    internal static Tensor Empty(long[] shape, DType dtype, ThreadState state)
    {
        long n = Shapes.NumElements(shape);
        long bytes;
        try { bytes = checked(n * dtype.ElementSize()); }
        catch (OverflowException) { throw new ArgumentException($"A tensor of shape {Shapes.Format(shape)} needs more bytes than a long can count."); }
        return Fresh(StoragePool.Rent(bytes, state), shape, Shapes.InternedContiguousStrides(shape), dtype, state);
    }

    /// <summary>An uninitialised 0-d tensor.</summary>
    internal static Tensor EmptyScalar(DType dtype, ThreadState state)
        => Fresh(StoragePool.Rent(dtype.ElementSize(), state), [], [], dtype, state);

    /// <summary>An uninitialised contiguous tensor with the shape and dtype of a contiguous <paramref name="like"/> (shares its shape and stride arrays, which are immutable).</summary>
    internal static Tensor EmptyLike(Tensor like) => EmptyLike(like, ThreadState.Current);

    /// <inheritdoc cref="EmptyLike(Tensor)"/>
    internal static Tensor EmptyLike(Tensor like, ThreadState state)
    {
        if (!like.IsContiguous) return Empty(like.ShapeArray, like.DType);
        long bytes = like.NumElements * like.DType.ElementSize();
        return Fresh(StoragePool.Rent(bytes, state), like.ShapeArray, like.StridesArray, like.DType, state);
    }

    /// <summary>The element type.</summary>
    public DType DType { get; private set; }

    /// <summary>The size of each dimension (PyTorch's <c>shape</c>).</summary>
    public ReadOnlySpan<long> Shape => ShapeArray;

    /// <summary>The step, in elements, between neighbours along each dimension.</summary>
    public ReadOnlySpan<long> Strides => StridesArray;

    /// <summary>The number of dimensions.</summary>
    public int Dim => ShapeArray.Length;

    /// <summary>The number of elements.</summary>
    public long NumElements
    {
        get
        {
            long n = 1;
            foreach (long d in ShapeArray) n *= d;
            return n;
        }
    }

    /// <summary>The size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    public long Size(int dim) => ShapeArray[Shapes.WrapDim(dim, Dim, "size")];

    /// <summary>True when the elements are laid out row-major without gaps.</summary>
    public bool IsContiguous => (_flags & ContiguousFlag) != 0;

    /// <summary>True once the tensor was disposed; using it then throws <see cref="ObjectDisposedException"/>.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    internal int StorageVersion => Storage.Version;

    /// <summary>Counts an in-place write into this tensor's storage (saved tensors compare the count at backward).</summary>
    internal void BumpVersion()
    {
        var storage = Storage; // null once recycled (a Dispose racing with the write)
        if (storage is null) ThrowDisposed();
        storage.Version++;
    }

    /// <summary><see cref="DataPointer"/> with this thread's state at hand (hot paths read it once per op).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal unsafe void* DataPointerOn(ThreadState state)
    {
        var storage = Storage; // null once recycled (a Dispose racing with this use)
        if (_disposed != 0 || storage is null) ThrowDisposed();
        return (byte*)storage.PointerOn(state) + Offset * DType.ElementSize();
    }

    internal unsafe void* DataPointer
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            var storage = Storage; // null once recycled (a Dispose racing with this use)
            if (_disposed != 0 || storage is null) ThrowDisposed();
            return (byte*)storage.Pointer + Offset * DType.ElementSize();
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(Tensor), "This tensor was disposed.");

    internal void ThrowIfDisposed()
    {
        if (_disposed != 0) ThrowDisposed();
    }

    /// <summary>
    /// Returns the storage to the pool (once every view and saved copy is gone). Disposing twice is harmless, except with
    /// <see cref="Runtime.RecycleTensors"/> on, where the object may already be another tensor.
    /// </summary>
    public void Dispose() => Dispose(ThreadState.Current);

    /// <inheritdoc cref="Dispose()"/>
    internal void Dispose(ThreadState state)
    {
        if (ReleaseResources(state) && Runtime.RecycleTensors) Recycle(state);
    }

    /// <summary>
    /// Disposes a tensor that only NativeGrad ever referenced (a gradient or temporary of a backward pass), and lets
    /// its object live again whatever <see cref="Runtime.RecycleTensors"/> says: no user reference can meet it.
    /// </summary>
    internal void DisposeInternal(ThreadState state)
    {
        if (ReleaseResources(state)) Recycle(state);
    }

    /// <summary>Gives back the storage, the graph node and the gradient, once; false when already disposed.</summary>
    private bool ReleaseResources(ThreadState state)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return false;
        Storage.Release(state);
        if (_gradFn is { } gradFn)
        {
            // A disposed tensor leaves the graph: the node lives on while other references hold it, and lives again when none does.
            _gradFn = null;
            BackwardNode.Release(gradFn, state);
        }
        // The accumulated gradient belongs to this tensor (backward takes it out of any scope), so it goes too.
        if (_grad is not null) Interlocked.Exchange(ref _grad, null)?.Dispose(state);
        return true;
    }

    // ---------------- autograd ----------------

    /// <summary>
    /// Whether gradients are computed for this tensor. Settable on leaves only, as in PyTorch; results of
    /// ops on tensors that require grad require grad themselves.
    /// </summary>
    public bool RequiresGrad
    {
        get => _requiresGrad || GradFnNode is not null;
        set
        {
            ThrowIfDisposed();
            if (GradFnNode is not null)
                throw new InvalidOperationException(value
                    ? "you can only change requires_grad flags of leaf variables."
                    : "you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.Detach().");
            if (value && IsInference && !GradMode.IsInference)
                throw new InvalidOperationException("Setting requires_grad=True on inference tensor outside InferenceMode is not allowed.");
            if (value && !DType.IsFloatingPoint())
                throw new InvalidOperationException($"only Tensors of floating point dtype can require gradients (got {DType.TorchName()})");
            _requiresGrad = value;
        }
    }

    /// <summary>Sets <see cref="RequiresGrad"/> in place and returns this tensor (PyTorch's <c>requires_grad_()</c>).</summary>
    public Tensor RequiresGrad_(bool requiresGrad = true)
    {
        RequiresGrad = requiresGrad;
        return this;
    }

    /// <summary>True for tensors created by the user (or not requiring grad), false for results of recorded ops.</summary>
    public bool IsLeaf => GradFnNode is null;

    /// <summary>The node that created this tensor in the backward graph (PyTorch's <c>grad_fn</c>), null for leaves.</summary>
    public BackwardNode? GradFn => _gradFn?.Pin(); // user code may keep it: never recycled from now on

    /// <summary>
    /// The accumulated gradient, owned by this tensor (disposed with it): set by <see cref="Backward"/> on leaves that require grad (and on non-leaves after
    /// <see cref="RetainGrad"/>), summed across backward calls until reset with <see cref="ZeroGrad"/> or set to null.
    /// </summary>
    public Tensor? Grad
    {
        get => _grad;
        set
        {
            if (value is not null && !Shapes.SameShape(value.Shape, Shape))
                throw new ArgumentException($"assigned grad has data of shape {Shapes.Format(value.Shape)} but the tensor has shape {Shapes.Format(Shape)}");
            _grad = value;
        }
    }

    /// <summary>True when <see cref="RetainGrad"/> was called on this non-leaf.</summary>
    public bool RetainsGrad => (_flags & RetainsGradFlag) != 0;

    /// <summary>Makes a non-leaf keep its gradient in <see cref="Grad"/> during backward (no effect on leaves).</summary>
    public void RetainGrad()
    {
        if (!RequiresGrad) throw new InvalidOperationException("can't retain_grad on Tensor that has requires_grad=False");
        if (IsLeaf || RetainsGrad) return;
        SetFlag(RetainsGradFlag, true);
        var self = new WeakReference<Tensor>(this);
        GradFnNode!.AddTensorHook(OutputNr, g =>
        {
            if (self.TryGetTarget(out var t))
            {
                t._grad = t._grad is null ? (GradMode.IsEnabled ? g.Clone() : g.DetachedCopy()) : t._grad + g;
                TensorScope.Untrack(t._grad);
            }
            return null;
        });
    }

    /// <summary>
    /// Sets <see cref="Grad"/> to null (PyTorch's default <c>zero_grad(set_to_none=True)</c>) and gives the old gradient's
    /// memory back to the pool (it is disposed; assign <c>Grad = null</c> instead to only drop the reference).
    /// </summary>
    public void ZeroGrad() => Interlocked.Exchange(ref _grad, null)?.Dispose();

    /// <summary>
    /// Registers a hook on this tensor's gradient: called with the gradient during backward; a non-null return
    /// replaces it. Returns a handle that removes the hook.
    /// </summary>
    public RemovableHandle RegisterHook(Func<Tensor, Tensor?> hook)
    {
        if (!RequiresGrad) throw new InvalidOperationException("cannot register a hook on a tensor that doesn't require gradient");
        var edge = GradientEdge();
        return edge.Node!.AddTensorHook(edge.InputNr, hook);
    }

    /// <summary>Registers a hook on a leaf called after its gradient was accumulated into <see cref="Grad"/>.</summary>
    public RemovableHandle RegisterPostAccumulateGradHook(Action<Tensor> hook)
    {
        if (!IsLeaf || !RequiresGrad) throw new InvalidOperationException("post accumulate grad hooks cannot be registered on non-leaf tensors");
        (_postAccumulateHooks ??= []).Add(hook);
        return new RemovableHandle(() => _postAccumulateHooks.Remove(hook));
    }

    internal IEnumerable<Action<Tensor>> PostAccumulateHooks() => _postAccumulateHooks?.ToArray() ?? [];

    internal bool HasPostAccumulateHooks => _postAccumulateHooks is { Count: > 0 };

    /// <summary>Where this tensor's gradient goes: its grad_fn, or for a leaf that requires grad its AccumulateGrad node.</summary>
    internal GradientEdge GradientEdge()
    {
        if (GradFnNode is not null) return new GradientEdge(GradFnNode, OutputNr);
        if (!_requiresGrad) return new GradientEdge(null, 0);
        return new GradientEdge(_accumulator ??= new AccumulateGrad(this), 0);
    }

    /// <summary>
    /// Computes the gradient of this tensor with respect to the graph leaves and accumulates it into their
    /// <see cref="Grad"/>. A scalar needs no <paramref name="gradient"/>; otherwise pass one of this tensor's shape.
    /// </summary>
    /// <param name="gradient">The gradient of some scalar with respect to this tensor (default: 1 for a scalar).</param>
    /// <param name="retainGraph">Keep the graph's saved tensors so another backward can run through it.</param>
    /// <param name="createGraph">Record the backward pass so the gradients can themselves be differentiated.</param>
    /// <param name="inputs">Accumulate only into these tensors' gradients.</param>
    public void Backward(Tensor? gradient = null, bool retainGraph = false, bool createGraph = false, Tensor[]? inputs = null)
    {
        ThrowIfDisposed();
        if (inputs is null) // no gradient: the engine's implicit 1
            Engine.Backward(this, gradient is null ? null : Autograd.Autograd.MakeRootGradient(this, gradient, 0), retainGraph || createGraph, createGraph);
        else
            Engine.Run([this], [Autograd.Autograd.MakeRootGradient(this, gradient, 0)], retainGraph || createGraph, createGraph, inputs, accumulate: true);
    }

    /// <summary>The backward graph that produced this tensor, as Graphviz DOT text.</summary>
    public string ToDot(bool showSavedTensors = false) => GraphDot.Write(this, showSavedTensors);

    /// <summary>A new tensor sharing this one's data, outside the graph (PyTorch's <c>detach()</c>).</summary>
    public Tensor Detach()
    {
        ThrowIfDisposed();
        return Share(this, ShapeArray, StridesArray, Offset, track: true);
    }

    /// <summary>Marks this tensor as a leaf outside the graph, in place (PyTorch's <c>detach_()</c>).</summary>
    public Tensor Detach_()
    {
        SetGradFn(null);
        _requiresGrad = false;
        return this;
    }

    /// <summary>A contiguous copy that does not require grad.</summary>
    internal Tensor DetachedCopy() => DetachedCopy(ThreadState.Current);

    /// <inheritdoc cref="DetachedCopy()"/>
    internal Tensor DetachedCopy(ThreadState state)
    {
        return Ops.Kernels.ContiguousCopy(this, state); // a kernel call: records nothing, whatever the grad mode
    }

    /// <summary>True for the aliases the graph saves (released by the graph, so never handed out as a gradient).</summary>
    internal bool IsSavedAlias => (_flags & SavedAliasFlag) != 0;

    /// <summary>
    /// An alias with its own storage reference and the given autograd identity, for a saved tensor whose original
    /// cannot be handed to a backward formula (disposed, or detached since). Works on a disposed original: the saved
    /// tensor holds a reference to the storage, so the rental is still live.
    /// </summary>
    internal Tensor AliasForSave(BackwardNode? gradFn, int outputNr, bool requiresGrad, AccumulateGrad? accumulator)
    {
        var alias = Share(this, ShapeArray, StridesArray, Offset, track: false, evenIfDisposed: true);
        alias._requiresGrad = requiresGrad;
        alias.SetGradFn(gradFn, outputNr);
        alias.IsInference = IsInference;
        alias._flags |= SavedAliasFlag;
        alias._accumulator = accumulator;
        return alias;
    }

    /// <summary>The rental of <see cref="Storage"/> this tensor holds.</summary>
    internal int StorageGeneration => _storageGeneration;

    /// <summary>The leaf flag itself (<see cref="RequiresGrad"/> is also true for op results).</summary>
    internal bool LeafRequiresGrad => _requiresGrad;

    /// <summary>The AccumulateGrad node of a leaf that requires grad (created now if needed), else null.</summary>
    internal AccumulateGrad? EnsureAccumulator() => _accumulator ?? (IsLeaf && _requiresGrad ? (_accumulator = new AccumulateGrad(this)) : null);

    /// <summary>Whether this tensor still has the autograd identity it had when it was saved.</summary>
    internal bool HasAutogradIdentity(BackwardNode? gradFn, int outputNr, bool requiresGrad)
        => ReferenceEquals(GradFnNode, gradFn) && OutputNr == outputNr && _requiresGrad == requiresGrad;

    private Tensor() { }

    /// <summary>The first tensor on a freshly rented storage (contiguous, offset 0).</summary>
    private static Tensor Fresh(TensorStorage storage, long[] shape, long[] strides, DType dtype, ThreadState state)
    {
        var t = Reuse(state) ?? new Tensor();
        t.Storage = storage;
        t.ShapeArray = shape;
        t.StridesArray = strides;
        t.Offset = 0;
        t.DType = dtype;
        t._flags = (state.GradFlags & ThreadState.InferenceMode) != 0 ? (byte)(ContiguousFlag | InferenceFlag) : ContiguousFlag;
        t._storageGeneration = storage.AttachFirst();
        TensorScope.Track(t, state);
        return t;
    }

    // A second tensor on source's storage. track: false for aliases saved by the graph, which no TensorScope may dispose.
    private static Tensor Share(Tensor source, long[] shape, long[] strides, long offset, bool track, bool evenIfDisposed = false)
    {
        if ((source._disposed != 0 && !evenIfDisposed) || !source.Storage.TryRetain(source._storageGeneration)) ThrowDisposed();
        var state = ThreadState.Current;
        var t = Reuse(state) ?? new Tensor();
        t.Storage = source.Storage;
        t._storageGeneration = source._storageGeneration;
        t.ShapeArray = shape;
        t.StridesArray = strides;
        t.Offset = offset;
        t.DType = source.DType;
        t._flags = (byte)((Shapes.IsContiguous(shape, strides) ? ContiguousFlag : 0) | ((state.GradFlags & ThreadState.InferenceMode) != 0 ? InferenceFlag : 0));
        if (track) TensorScope.Track(t, state);
        return t;
    }

    /// <summary>Holds this tensor's storage for an in-place write (see <see cref="TensorStorage.Hold"/>).</summary>
    internal TensorStorage.Lease HoldStorage()
    {
        ThrowIfDisposed();
        return Storage.Hold(_storageGeneration);
    }

    /// <summary>Makes this tensor the output of a node just made for it, taking over the reference the node starts with.</summary>
    internal void SetNewGradFn(BackwardNode node) => ReplaceGradFn(node, 0);

    /// <summary>Marks this tensor as output <paramref name="outputNr"/> of <paramref name="node"/> (null: a leaf), counting a new reference to it.</summary>
    internal void SetGradFn(BackwardNode? node, int outputNr = 0)
    {
        BackwardNode.Retain(node);
        ReplaceGradFn(node, outputNr);
    }

    /// <summary>Stores a grad_fn whose reference is already counted, and drops the reference to the one it replaces.</summary>
    private void ReplaceGradFn(BackwardNode? node, int outputNr)
    {
        var old = _gradFn;
        _gradFn = node;
        OutputNr = outputNr;
        if (old is not null) BackwardNode.Release(old, ThreadState.Current);
    }
}
