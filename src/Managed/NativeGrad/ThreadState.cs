using NativeGrad.Storage;

namespace NativeGrad;

/// <summary>
/// Everything NativeGrad keeps per thread, in one object: each [ThreadStatic] read is a TLS lookup through a runtime
/// helper (~3-4 ns here), and a tiny op used to make eight of them (grad mode, inference flag, scope, pool cache,
/// in-flight ring). Hot paths read <see cref="Current"/> once and pass it on.
/// </summary>
internal sealed class ThreadState
{
    [ThreadStatic] private static ThreadState? _current;

    /// <summary>This thread's state.</summary>
    public static ThreadState Current
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        get => _current ?? Create();
    }

    private static ThreadState Create() => _current = new ThreadState();

    /// <summary>Grad mode flags (see <see cref="Autograd.GradMode"/>): bit 0 grad disabled, bit 1 inference mode.</summary>
    public int GradFlags;

    /// <summary>The innermost open <see cref="TensorScope"/>.</summary>
    public TensorScope.Frame? Scope;

    /// <summary>This thread's small-storage cache and live counters (created on first use).</summary>
    public StoragePool.ThreadCache? PoolCache;

    /// <summary>The arrays this thread's most recent kernel calls were handed (created on first use).</summary>
    public InFlightArrays.Ring? Ring;

    /// <summary>The engine's collections, reused by every backward pass on this thread that no other pass encloses.</summary>
    public Autograd.Engine.Scratch EngineScratch => _engineScratch ??= new Autograd.Engine.Scratch();

    /// <summary>True while a backward pass on this thread uses <see cref="EngineScratch"/>.</summary>
    public bool EngineScratchInUse;

    private Autograd.Engine.Scratch? _engineScratch;

    /// <summary>Lets a scratch that grew too large go (the next pass makes a new one).</summary>
    public void DropEngineScratch() => _engineScratch = null;

    /// <summary>Small gradient arrays for this thread's backward passes.</summary>
    public Autograd.GradArrayPool GradArrays => _gradArrays ??= new Autograd.GradArrayPool();

    private Autograd.GradArrayPool? _gradArrays;

    /// <summary>
    /// The implicit gradient of a scalar root (a 1 of its dtype and shape), reused by this thread's backward passes;
    /// outside every scope, held until a pass where user code ran drops it (see Engine.Backward).
    /// </summary>
    public Tensor RootOnes(Tensor root)
    {
        var ones = _rootOnes ??= new Tensor?[(int)DType.Int64 + 1]; // one per dtype
        ref var cached = ref ones[(int)root.DType];
        if (cached is null || cached.IsDisposed || !Shapes.SameShape(cached.Shape, root.Shape))
        {
            var made = Autograd.Autograd.MakeRootGradient(root, null, 0); // (throws for a root of more than one element)
            TensorScope.Untrack(made, this);
            made.Storage.HeldByThread = true; // dies with the thread: not a forgotten tensor
            cached = made;
        }
        return cached;
    }

    /// <summary>Stops reusing <paramref name="ones"/> as the implicit root gradient (user code may hold it).</summary>
    public void ForgetRootOnes(Tensor ones)
    {
        if (_rootOnes is { } cache && ReferenceEquals(cache[(int)ones.DType], ones))
        {
            cache[(int)ones.DType] = null;
            if (ones.Storage is { } storage) storage.HeldByThread = false; // now user code's, which may forget it
        }
    }

    private Tensor?[]? _rootOnes;

    /// <summary>Nodes that lost their last reference, waiting to be recycled (see BackwardNode.Recycling.cs).</summary>
    public SlotList<Autograd.BackwardNode> ReleasedNodes => _releasedNodes ??= new SlotList<Autograd.BackwardNode>();

    private SlotList<Autograd.BackwardNode>? _releasedNodes;

    /// <summary>True while this thread recycles released nodes (a release meanwhile only queues).</summary>
    public bool RecyclingNodes;

    /// <summary>Recycled nodes of built-in ops, for the next ops on this thread.</summary>
    public Autograd.FunctionNode.Spares? SpareNodes;

    /// <summary>The frames of scopes closed on this thread, for the next ones.</summary>
    public SlotList<TensorScope.Frame>? SpareScopeFrames;

    /// <summary>Disposed tensor objects waiting to be reused: a backward pass's temporaries, and with <see cref="Runtime.RecycleTensors"/> any (see Tensor.Recycling.cs).</summary>
    public SlotList<Tensor>? SpareTensors;

    /// <summary>The gen0 collection count (as the storage pool observed it) when the spares were stored.</summary>
    public int SparesGc;

    /// <summary>Recently made shape and stride arrays (see <see cref="Shapes.Intern"/>).</summary>
    public Shapes.Cache ShapeCache => _shapeCache ??= new Shapes.Cache();

    private Shapes.Cache? _shapeCache;

    public const int GradDisabled = 1, InferenceMode = 2;
}
