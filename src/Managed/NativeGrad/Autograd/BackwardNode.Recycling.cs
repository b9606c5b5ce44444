namespace NativeGrad.Autograd;

// Nodes living again. A built-in op's node (FunctionNode) is referenced from inside NativeGrad only: by the tensors
// it produced (their grad_fn), by the edges of the nodes that consumed them, by saved tensors of other nodes, and by
// a backward pass while it runs. Each of those references is counted; when the count returns to zero (the tensors were
// disposed and their consumers recycled), nothing can reach the node any more: it gives back what it saved, lets go
// of its own edges (which may free its inputs' nodes in turn) and waits in its thread's pool for the next op of the
// same arity, so a steady training step allocates no nodes. A node that user code has seen (Tensor.GradFn,
// NextFunctions, a hook) is pinned and never recycled; a node whose tensors are dropped without Dispose is simply
// collected by the GC, as before.
public abstract partial class BackwardNode
{
    /// <summary>The counted references (tensors, other nodes' edges and saved tensors, running backward passes).</summary>
    private int _refs;

    /// <summary>Whether this kind of node lives again once unreferenced (built-in ops' nodes).</summary>
    private protected readonly bool Recyclable;

    /// <summary>True when <see cref="Apply"/> returns an array from the thread's <see cref="GradArrayPool"/> (recyclable kinds do), which the engine gives back.</summary>
    internal bool PooledGradients => Recyclable;

    /// <summary>Set once user code could keep a reference: the node is then never recycled.</summary>
    private bool _pinned;

    /// <summary>Marks the node as seen by user code and returns it.</summary>
    internal BackwardNode Pin()
    {
        _pinned = true;
        return this;
    }

    /// <summary>Counts a new reference to <paramref name="node"/>.</summary>
    internal static void Retain(BackwardNode? node)
    {
        if (node is { Recyclable: true }) Interlocked.Increment(ref node._refs);
    }

    /// <summary>
    /// Drops a counted reference to <paramref name="node"/>; the last one recycles it, and the nodes only it referred
    /// to after it, iteratively (a chain of 100,000 ops freed from its tail needs no deep stack).
    /// </summary>
    internal static void Release(BackwardNode? node, ThreadState state)
    {
        if (node is not { Recyclable: true } || Interlocked.Decrement(ref node._refs) != 0) return;
        var queue = state.ReleasedNodes;
        queue.Add(node);
        if (state.RecyclingNodes) return; // the loop below, further up this thread's stack, takes it
        state.RecyclingNodes = true;
        try
        {
            while (queue.Count > 0) queue.Pop().Recycle(state);
        }
        finally
        {
            state.RecyclingNodes = false;
        }
    }

    private void Recycle(ThreadState state)
    {
        // A pinned or hooked node, or one a backward pass holds (its EngineRun is set), is left to the GC. -1 marks a
        // node in the pool, which no pass may claim.
        if (_pinned || HasHooks || Interlocked.CompareExchange(ref EngineRun, -1, 0) != 0) return;
        ReleaseSavedTensors(state);
        foreach (var edge in Next) Release(edge.Node, state);
        EngineGrads = null;
        Reset(state);
    }

    /// <summary>Clears the node and puts it in its thread's pool (for kinds that are <see cref="Recyclable"/>).</summary>
    private protected virtual void Reset(ThreadState state) { }

    /// <summary>Takes a node out of a pool for a new op (its edges retained by the caller, then <see cref="Begin"/>).</summary>
    private protected void Revive()
    {
        _refs = 0;
        Volatile.Write(ref EngineRun, 0);
    }
}
