using NativeGrad.Storage;

namespace NativeGrad;

// Tensor objects living again (Runtime.RecycleTensors): a disposed tensor's object goes to its thread's spares and
// becomes the next tensor an op creates there, so a steady loop allocates no Tensor objects. Only objects nothing
// inside NativeGrad can still reach are recycled: not saved for backward, not a leaf that requires grad (its
// AccumulateGrad node and optimizers know it), not retaining its grad or carrying hooks, not a saved-tensor alias,
// not held by a backward pass, and not listed by a scope other than as the newest tensor of this thread's scope.
public sealed partial class Tensor
{
    /// <summary>The most spare objects a thread keeps (a step's worth of temporaries in the workloads).</summary>
    internal const int MaxSpares = 512;

    /// <summary>The scope that will dispose this tensor (null: none); kept by <see cref="TensorScope"/>.</summary>
    internal TensorScope.Frame? TrackedBy;

    /// <summary>How many saved tensors of the graph hold this object (it is never recycled while they do).</summary>
    internal int SavedCount;

    /// <summary>A spare object of this thread, or null.</summary>
    private static Tensor? Reuse(ThreadState state)
    {
        if (state.SpareTensors is not { Count: > 0 } spares) return null;
        if (state.SparesGc != StoragePool.ObservedGcCount && DropPromotedSpares(state)) return null;
        var t = spares.Pop();
        t._disposed = 0;
        return t;
    }

    /// <summary>
    /// After a collection: a spare that outlived it is promoted, and were the tensor it becomes never disposed, only a
    /// full collection would find it and the young storage it holds. So the spares are dropped when the program is
    /// seen forgetting tensors (as the storage pool renews its objects); a program that disposes keeps them. Returns
    /// whether they were dropped.
    /// </summary>
    private static bool DropPromotedSpares(ThreadState state)
    {
        state.SparesGc = StoragePool.ObservedGcCount;
        if (!StoragePool.ForgottenRecently) return false;
        state.SpareTensors?.Clear();
        return true;
    }

    /// <summary>Called by Dispose: adds this object to the thread's spares when nothing internal can still reach it.</summary>
    private void Recycle(ThreadState state)
    {
        if (_requiresGrad || _accumulator is not null || RetainsGrad || _postAccumulateHooks is not null || IsSavedAlias
            || Volatile.Read(ref SavedCount) != 0 || Volatile.Read(ref EngineRun) != 0) return;
        if (TrackedBy is { } scope && !scope.TryRemoveNewest(this, state)) return;
        var spares = state.SpareTensors ??= new SlotList<Tensor>();
        if (state.SparesGc != StoragePool.ObservedGcCount) DropPromotedSpares(state);
        if (spares.Count == MaxSpares) return;
        // A spare references nothing: its old storage object goes back to the pool and on to other tensors, which the
        // GC must be free to reclaim (and a graph must not stay alive through it).
        Storage = null!;
        OutputNr = 0; // its grad_fn reference went with Dispose
        EngineShared = false;
        spares.Add(this);
    }
}
