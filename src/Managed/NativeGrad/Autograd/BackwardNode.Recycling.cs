namespace NativeGrad.Autograd;

// Nodes living again. A built-in op's node (FunctionNode) is referenced from inside NativeGrad only: by the tensors
// it produced (their grad_fn), by the edges of the nodes that consumed them, by saved tensors of other nodes, and by
// a backward pass while it runs. The first three are counted; a pass claims the nodes it runs (their EngineRun), and
// a claimed node is never recycled (a pass that cannot claim its graph holds its roots by a counted reference
// instead). When the count returns to zero (the tensors were disposed and their consumers recycled), nothing can
// reach the node any more: it gives back what it saved, lets go
// of its own edges (which may free its inputs' nodes in turn) and waits in its thread's pool for the next op of the
// same arity, so a steady training step allocates no nodes. A node that user code has seen (Tensor.GradFn,
// NextFunctions, a hook) is pinned and never recycled; a node whose tensors are dropped without Dispose is simply
// collected by the GC, as before.
public abstract partial class BackwardNode
{
    /// <summary>The counted references: tensors' grad_fn, other nodes' edges and saved tensors, a pass's roots on its dictionary path.</summary>
    private int _refs;

    /// <summary>Whether this kind of node lives again once unreferenced (built-in ops' nodes).</summary>
    internal readonly bool Recyclable;

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

    /// <summary>Whether one of this node's edges goes to <paramref name="node"/> (and so holds a counted reference to it).</summary>
    internal bool HasEdgeTo(BackwardNode node)
    {
        foreach (var edge in Next) if (ReferenceEquals(edge.Node, node)) return true;
        return false;
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
        if (state.RecyclingNodes)
        {
            state.ReleasedNodes.Add(node); // the loop below, further up this thread's stack, takes it
            return;
        }
        state.RecyclingNodes = true;
        try
        {
            node.Recycle(state);
            var queue = state.ReleasedNodes;
            while (queue.Count > 0) queue.Pop().Recycle(state);
        }
        finally
        {
            state.RecyclingNodes = false;
        }
    }

    private void Recycle(ThreadState state)
    {
        // A pinned node (user code saw it, or it has hooks: registering one pins), or one a backward pass holds (its
        // EngineRun is set), is left to the GC. No pass can claim it meanwhile: a pass reaches nodes only through
        // counted references, and there are none. -1 marks a node in the pool.
        if (_pinned || EngineRun != 0) return;
        EngineRun = -1;
        ReleaseSavedTensors(state);
        foreach (var edge in Next) Release(edge.Node, state);
        EngineGrads = null;
        Reset(state);
    }

    /// <summary>Clears the node and puts it in its thread's pool (for kinds that are <see cref="Recyclable"/>).</summary>
    private protected virtual void Reset(ThreadState state) { }

    /// <summary>
    /// Takes a node out of a pool, or readies a new one, for a new op: it starts with one reference, which the op's
    /// result takes over (<see cref="Tensor.SetNewGradFn"/>); the caller sets its edges, then calls <see cref="Begin"/>.
    /// </summary>
    private protected void Revive()
    {
        _refs = 1;
        EngineRun = 0;
    }
}
