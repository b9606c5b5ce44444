using Microsoft.Extensions.ObjectPool;

namespace NativeGrad.Autograd;

/// <summary>
/// Executes the backward graph: discovers the nodes reachable from the roots, orders them (latest-created first,
/// which is topological: a node's inputs were made before it; checked, with Kahn's algorithm as the fallback),
/// runs each node once with the sum of its incoming gradients, and either accumulates into leaves'
/// <see cref="Tensor.Grad"/> or captures the gradients of requested inputs. Iterative throughout: a chain of
/// 100,000 ops needs no deep stack.
/// </summary>
internal static class Engine
{
    /// <summary>The collections one backward pass needs, reused by the next pass on the same thread (no allocation in steady state).</summary>
    internal sealed class Scratch
    {
        /// <summary>The reachable nodes, in run order once sorted.</summary>
        public readonly SlotList<BackwardNode> Nodes = new();
        /// <summary>The walk's to-do list.</summary>
        public readonly SlotList<BackwardNode> Stack = new();
        public readonly HashSet<BackwardNode> Visited = new(NodeIdentity.Instance);
        public readonly Dictionary<BackwardNode, Tensor?[]> Buffers = new(NodeIdentity.Instance);

        /// <summary>
        /// With inputs (Autograd.Grad, Backward(inputs: ...)): the first of the gradient edges to capture at each node,
        /// an index into <see cref="Captures"/>, whose entries chain on through <c>Next</c> (-1 ends the chain).
        /// </summary>
        public readonly Dictionary<BackwardNode, int> CaptureHeads = new(NodeIdentity.Instance);
        public readonly List<(int InputNr, int Index, int Next)> Captures = [];

        /// <summary>With inputs: the nodes that must run for a gradient to reach a captured edge.</summary>
        public readonly HashSet<BackwardNode> Leads = new(NodeIdentity.Instance);

        /// <summary>
        /// Which gradients this pass alone holds, so a leaf can adopt one as its .Grad without a copy. A gradient is
        /// claimed (its EngineRun set to this pass's id with a compare-exchange) when first stored in a slot, and marked
        /// shared when stored again, given by the caller (a root gradient) or seen by a hook. One claimed elsewhere
        /// (another thread's pass, or an outer pass that a hook started this one from) is never exclusive here, also after
        /// that pass gave it back (<see cref="Foreign"/>).
        /// </summary>
        public readonly SlotList<Tensor> Claimed = new();
        public readonly HashSet<Tensor> Foreign = new(ReferenceEqualityComparer.Instance);

        public bool IsExclusive(Tensor t) => t.EngineRun == RunId && !t.EngineShared;

        /// <summary>Records that a slot now holds <paramref name="t"/> (<paramref name="shared"/>: and someone outside may too).</summary>
        public void Hold(Tensor t, bool shared)
        {
            if (t.EngineRun == RunId) { t.EngineShared = true; return; } // held twice
            if (Interlocked.CompareExchange(ref t.EngineRun, RunId, 0) != 0) { Foreign.Add(t); return; }
            t.EngineShared = shared || (Foreign.Count > 0 && Foreign.Contains(t));
            Claimed.Add(t);
        }

        private void ReleaseTensors()
        {
            for (int i = 0; i < Claimed.Count; i++)
            {
                var t = Claimed[i];
                t.EngineShared = false;
                Volatile.Write(ref t.EngineRun, 0);
            }
            Claimed.Clear();
            Foreign.Clear();
        }

        /// <summary>This thread's gradient arrays (set when the pass starts).</summary>
        public GradArrayPool Arrays = null!;

        /// <summary>True when the nodes are claimed by this pass (their EngineRun is <see cref="RunId"/>); false when the slots live in <see cref="Buffers"/>.</summary>
        public bool OnNodes;
        public int RunId;

        /// <summary>True once user code ran in the pass (a hook, a custom function's backward) and may keep its tensors.</summary>
        public bool UserCodeRan;

        /// <summary>True when the pass holds counted references to its roots (see VisitHoldingRoots).</summary>
        public bool RootsRetained;

        /// <summary>Takes the gradients that flowed into <paramref name="node"/> (null: none).</summary>
        public Tensor?[]? TakeGrads(BackwardNode node)
        {
            if (OnNodes)
            {
                var grads = node.EngineGrads;
                node.EngineGrads = null;
                return grads;
            }
            return Buffers.Remove(node, out var g) ? g : null;
        }

        public Tensor?[] SlotsOf(BackwardNode node)
        {
            if (OnNodes) return node.EngineGrads ??= NewSlots(node.NumOutputs);
            if (!Buffers.TryGetValue(node, out var slots)) Buffers[node] = slots = NewSlots(node.NumOutputs);
            return slots;
        }

        private Tensor?[] NewSlots(int n) => Arrays.Rent(n);

        /// <summary>Takes back a gradient array once its contents were used, when nothing outside the engine can hold it.</summary>
        public void Recycle(Tensor?[] slots) => Arrays.Return(slots);

        /// <summary>Gives the claimed nodes back (and drops gradients left in their slots by an interrupted pass).</summary>
        public void Unclaim()
        {
            if (OnNodes)
            {
                for (int i = 0; i < Nodes.Count; i++)
                {
                    var node = Nodes[i];
                    node.EngineGrads = null;
                    Volatile.Write(ref node.EngineRun, 0);
                }
            }
            OnNodes = false;
        }

        public void Clear()
        {
            UserCodeRan = false;
            Unclaim();
            Nodes.Clear();
            ReleaseTensors();
            Visited.Clear();
            Stack.Clear();
            Buffers.Clear();
            CaptureHeads.Clear();
            Captures.Clear();
            Leads.Clear();
        }

        /// <summary>Whether the collections grew too large to keep for the next pass.</summary>
        public bool Huge => Nodes.Count > 65536 || Captures.Count > 65536;
    }

    /// <summary>
    /// The scratch of a pass started while another runs on the same thread (from a hook, a custom function's backward,
    /// checkpointing): the thread's own is in use by the outer pass. Shared by all threads; a scratch goes back cleared.
    /// </summary>
    private static readonly ObjectPool<Scratch> NestedScratch = new DefaultObjectPool<Scratch>(new ScratchPolicy(), maximumRetained: 16);

    /// <summary>Makes scratches; the pass that used one clears it, and does not return one that grew huge.</summary>
    private sealed class ScratchPolicy : IPooledObjectPolicy<Scratch>
    {
        public Scratch Create() => new();
        public bool Return(Scratch scratch) => true;
    }

    /// <summary>Reference identity hashed by the creation number (RuntimeHelpers.GetHashCode's first call on an object is slow).</summary>
    private sealed class NodeIdentity : IEqualityComparer<BackwardNode>
    {
        public static readonly NodeIdentity Instance = new();
        public bool Equals(BackwardNode? x, BackwardNode? y) => ReferenceEquals(x, y);
        public int GetHashCode(BackwardNode node) => (int)node.SequenceNr;
    }

    private static int _nextRunId;

    /// <summary><see cref="Tensor.Backward"/> without inputs: one root, gradients accumulated into the leaves.</summary>
    /// <param name="root">The tensor to differentiate.</param>
    /// <param name="rootGrad">Its incoming gradient; null for the implicit 1 of a scalar.</param>
    /// <param name="retainGraph">Keep saved tensors for another backward.</param>
    /// <param name="createGraph">Record the backward computation itself.</param>
    public static void Backward(Tensor root, Tensor? rootGrad, bool retainGraph, bool createGraph)
    {
        if (!root.RequiresGrad)
            throw new InvalidOperationException("element 0 of tensors does not require grad and does not have a grad_fn");
        var state = ThreadState.Current;
        bool cached = false;
        if (rootGrad is null)
        {
            // The implicit 1: this thread's, reused by every pass that only NativeGrad's code sees (the pass holds it as
            // the caller's, so it is never stolen into a .Grad; a pass where user code ran drops it, for the code may keep it).
            cached = !createGraph && !GradMode.IsInference;
            rootGrad = cached ? state.RootOnes(root) : Autograd.MakeRootGradient(root, null, 0);
        }
        var edge = root.GradientEdge();
        Run(new ReadOnlySpan<GradientEdge>(in edge), new ReadOnlySpan<Tensor>(in rootGrad), retainGraph, createGraph, null, accumulate: true,
            cachedRoot: cached);
    }

    /// <param name="roots">The tensors to differentiate.</param>
    /// <param name="rootGrads">Their incoming gradients (same shapes).</param>
    /// <param name="retainGraph">Keep saved tensors for another backward.</param>
    /// <param name="createGraph">Record the backward computation itself (for higher-order gradients).</param>
    /// <param name="inputs">Null: accumulate into every reachable leaf. Otherwise the tensors whose gradients matter.</param>
    /// <param name="accumulate">True for Tensor.Backward (writes .Grad); false for Autograd.Grad (returns gradients).</param>
    /// <returns>For <c>accumulate: false</c>, one gradient per input (null where none flowed).</returns>
    public static Tensor?[]? Run(Tensor[] roots, Tensor[] rootGrads, bool retainGraph, bool createGraph, Tensor[]? inputs, bool accumulate)
    {
        var rootEdges = new GradientEdge[roots.Length];
        for (int i = 0; i < roots.Length; i++)
        {
            if (!roots[i].RequiresGrad)
                throw new InvalidOperationException($"element {i} of tensors does not require grad and does not have a grad_fn");
            rootEdges[i] = roots[i].GradientEdge();
        }

        if (inputs is not null)
        {
            for (int i = 0; i < inputs.Length; i++)
                if (!inputs[i].RequiresGrad)
                    throw new InvalidOperationException($"One of the differentiated Tensors (index {i}) does not require grad");
        }
        return Run(rootEdges, rootGrads, retainGraph, createGraph, inputs, accumulate, cachedRoot: false);
    }

    private static Tensor?[]? Run(ReadOnlySpan<GradientEdge> rootEdges, ReadOnlySpan<Tensor> rootGrads, bool retainGraph, bool createGraph,
                                  Tensor[]? inputs, bool accumulate, bool cachedRoot)
    {
        var state = ThreadState.Current;
        // A backward started from inside a backward (a hook, a custom function) takes a scratch from the shared pool.
        bool nested = state.EngineScratchInUse;
        var scratch = nested ? NestedScratch.Get() : state.EngineScratch;
        state.EngineScratchInUse = true;
        // The gradients and temporaries the pass creates are tracked by a frame of its own. When only NativeGrad's own
        // code saw them (no hook, no custom function, no graph of the backward kept), they go back at the end of the
        // pass, objects included, so a steady backward allocates nothing; otherwise they join the caller's scope.
        var frame = TensorScope.Frame.Open(state);
        Tensor?[]? results = null;
        bool completed = false;
        try
        {
            if (inputs is not null) MapCaptures(scratch, inputs, accumulate);
            results = Execute(scratch, state, rootEdges, rootGrads, retainGraph, createGraph, inputs, accumulate);
            completed = true;
            return results;
        }
        finally
        {
            bool disposeTemporaries = completed && !createGraph && !scratch.UserCodeRan && !AnomalyMode.IsEnabled;
            bool huge = scratch.Huge; // do not keep a giant graph's capacity around
            scratch.Clear(); // gives back the tensors it claimed first: a claimed tensor is never recycled
            frame.CloseForPass(state, disposeTemporaries, results);
            if (cachedRoot && !disposeTemporaries) state.ForgetRootOnes(rootGrads[0]); // user code may have kept it
            if (scratch.RootsRetained)
            {
                scratch.RootsRetained = false;
                foreach (var edge in rootEdges) BackwardNode.Release(edge.Node, state);
            }
            // Only now is the scratch free: a pooled one may go to another thread the moment it is returned.
            if (nested)
            {
                if (!huge) NestedScratch.Return(scratch);
            }
            else
            {
                state.EngineScratchInUse = false;
                if (huge) state.DropEngineScratch();
            }
        }
    }

    /// <summary>
    /// Records, per node, which of its gradient edges are the inputs'. An input given twice is captured twice for
    /// Autograd.Grad (both results), once for Backward(inputs:) (its .Grad accumulates once, as in PyTorch).
    /// </summary>
    private static void MapCaptures(Scratch scratch, Tensor[] inputs, bool accumulate)
    {
        for (int i = 0; i < inputs.Length; i++)
        {
            var edge = inputs[i].GradientEdge();
            ref int head = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(scratch.CaptureHeads, edge.Node!, out bool exists);
            if (exists && accumulate && Captures(scratch, head, edge.InputNr)) continue;
            scratch.Captures.Add((edge.InputNr, i, exists ? head : -1));
            head = scratch.Captures.Count - 1;
        }
    }

    private static bool Captures(Scratch scratch, int link, int inputNr)
    {
        for (; link >= 0; link = scratch.Captures[link].Next)
            if (scratch.Captures[link].InputNr == inputNr) return true;
        return false;
    }

    private static Tensor?[]? Execute(Scratch scratch, ThreadState state, ReadOnlySpan<GradientEdge> rootEdges, ReadOnlySpan<Tensor> rootGrads,
                                      bool retainGraph, bool createGraph, Tensor[]? inputs, bool accumulate)
    {
        scratch.Arrays = state.GradArrays;
        Order(scratch, rootEdges);
        bool capturing = inputs is not null;
        if (capturing) FindLeads(scratch);

        for (int i = 0; i < rootEdges.Length; i++)
        {
            scratch.Hold(rootGrads[i], shared: true); // the caller's tensor
            AddGrad(scratch, rootEdges[i], rootGrads[i]);
        }

        var results = accumulate ? null : new Tensor?[inputs!.Length];
        using var mode = createGraph ? GradMode.EnableGrad(state) : GradMode.NoGrad(state);
        for (int n = 0; n < scratch.Nodes.Count; n++)
        {
            var node = scratch.Nodes[n];
            if (scratch.TakeGrads(node) is not { } grads) continue; // nothing flowed into it
            bool hooked = node.HasHooks;
            if (hooked) foreach (var g in grads) if (g is not null) scratch.Hold(g, shared: true);
            if (hooked || !(node.Recyclable || node is AccumulateGrad)) scratch.UserCodeRan = true; // (a leaf's post-accumulate hooks: below)
            grads = node.RunTensorHooks(grads);

            if (capturing && scratch.CaptureHeads.TryGetValue(node, out int link))
            {
                for (; link >= 0; link = scratch.Captures[link].Next)
                {
                    var (inputNr, index, _) = scratch.Captures[link];
                    if (!accumulate) results![index] = grads[inputNr];
                    else if (node is AccumulateGrad leaf && grads[inputNr] is { } g && leaf.Accumulate(g, createGraph, scratch.IsExclusive(g), state))
                        scratch.UserCodeRan = true;
                }
            }
            else if (node is AccumulateGrad leaf && accumulate && !capturing)
            {
                if (grads[0] is { } g && leaf.Accumulate(g, createGraph, scratch.IsExclusive(g), state)) scratch.UserCodeRan = true;
            }

            if (node is AccumulateGrad || (capturing && !scratch.Leads.Contains(node)))
            {
                if (!hooked) scratch.Recycle(grads);
                continue;
            }

            var inputGrads = node.Run(grads);
            if (node.HasHooks)
            {
                scratch.UserCodeRan = true; // (a hook may register hooks)
                foreach (var g in inputGrads) if (g is not null) scratch.Hold(g, shared: true);
            }
            if (AnomalyMode.IsEnabled) AnomalyMode.Check(node, inputGrads);
            if (!retainGraph) node.ReleaseSavedTensors(state);
            var next = node.Next;
            for (int i = 0; i < next.Length; i++)
            {
                if (next[i].Node is null || i >= inputGrads.Length || inputGrads[i] is null) continue;
                AddGrad(scratch, next[i], inputGrads[i]!);
            }
            if (!hooked && !ReferenceEquals(inputGrads, grads)) scratch.Recycle(grads);
            if (node.PooledGradients && !node.HasHooks) scratch.Recycle(inputGrads); // its own array, distributed
        }
        return results;
    }

    private static void AddGrad(Scratch scratch, GradientEdge edge, Tensor grad)
    {
        var slots = scratch.SlotsOf(edge.Node!);
        if (slots[edge.InputNr] is { } existing)
        {
            var sum = existing + grad; // a fresh sum, held by this slot only
            scratch.Hold(sum, shared: false);
            slots[edge.InputNr] = sum;
            return;
        }
        scratch.Hold(grad, shared: false); // a second slot for the same tensor (e.g. add's backward) marks it shared
        slots[edge.InputNr] = grad;
    }

    /// <summary>
    /// Fills <c>scratch.Nodes</c> with the nodes reachable from the roots in run order: by creation number, latest
    /// first, as PyTorch's ready queue runs them. That order is topological when every edge goes to an older node (a
    /// node is created after the nodes of its inputs), which the walk checks; otherwise Kahn's algorithm orders them.
    /// </summary>
    private static void Order(Scratch scratch, ReadOnlySpan<GradientEdge> rootEdges)
    {
        bool olderEdges = Claim(scratch, rootEdges) ?? VisitHoldingRoots(scratch, rootEdges);
        if (olderEdges) SortLatestFirst(scratch.Nodes.Slots);
        else KahnOrder(scratch);
    }

    /// <summary>
    /// Collects the reachable nodes claiming each for this pass with one compare-exchange, so that the gradient slots
    /// can live on the nodes; null (all claims given back) when some node belongs to another pass running now (another
    /// thread's, or an outer pass on this thread that a hook started this one from). Otherwise whether every edge goes to an older node.
    /// </summary>
    private static bool? Claim(Scratch scratch, ReadOnlySpan<GradientEdge> rootEdges)
    {
        int run = Interlocked.Increment(ref _nextRunId);
        if (run == 0) run = Interlocked.Increment(ref _nextRunId);
        scratch.RunId = run;
        scratch.OnNodes = true; // Unclaim gives back what was claimed so far
        bool olderEdges = true;
        foreach (var edge in rootEdges)
        {
            if (edge.Node is not { } root || root.EngineRun == run) continue;
            if (!TryClaim(scratch, root, run)) return GiveUp(scratch);
            scratch.Stack.Add(root);
        }
        while (scratch.Stack.Count > 0)
        {
            var node = scratch.Stack.Pop();
            foreach (var edge in node.Next)
            {
                if (edge.Node is not { } next) continue;
                olderEdges &= next.SequenceNr < node.SequenceNr;
                if (next.EngineRun == run) continue;
                if (!TryClaim(scratch, next, run)) return GiveUp(scratch);
                scratch.Stack.Add(next);
            }
        }
        return olderEdges;
    }

    private static bool TryClaim(Scratch scratch, BackwardNode node, int run)
    {
        if (Interlocked.CompareExchange(ref node.EngineRun, run, 0) != 0) return false;
        node.EngineGrads = null;
        scratch.Nodes.Add(node);
        return true;
    }

    private static bool? GiveUp(Scratch scratch)
    {
        scratch.Stack.Clear();
        scratch.Unclaim();
        scratch.Nodes.Clear();
        return null;
    }

    /// <summary>
    /// <see cref="Visit"/>, with a counted reference to each root for the pass. Claimed nodes are never recycled (a hook
    /// disposing a root tensor cannot free nodes about to run); nodes this pass could not claim are held through its roots.
    /// </summary>
    private static bool VisitHoldingRoots(Scratch scratch, ReadOnlySpan<GradientEdge> rootEdges)
    {
        foreach (var edge in rootEdges) BackwardNode.Retain(edge.Node);
        scratch.RootsRetained = true;
        return Visit(scratch, rootEdges);
    }

    /// <summary>The same walk with a visited set (the gradient slots then live in <c>scratch.Buffers</c>).</summary>
    private static bool Visit(Scratch scratch, ReadOnlySpan<GradientEdge> rootEdges)
    {
        var visited = scratch.Visited;
        bool olderEdges = true;
        foreach (var edge in rootEdges)
        {
            if (edge.Node is { } root && visited.Add(root)) { scratch.Nodes.Add(root); scratch.Stack.Add(root); }
        }
        while (scratch.Stack.Count > 0)
        {
            var node = scratch.Stack.Pop();
            foreach (var edge in node.Next)
            {
                if (edge.Node is not { } next) continue;
                olderEdges &= next.SequenceNr < node.SequenceNr;
                if (visited.Add(next)) { scratch.Nodes.Add(next); scratch.Stack.Add(next); }
            }
        }
        return olderEdges;
    }

    /// <summary>Sorts by creation number, latest first (insertion sort: the walk leaves them nearly in that order).</summary>
    private static void SortLatestFirst(Span<SlotList<BackwardNode>.Slot> nodes)
    {
        if (nodes.Length > 256)
        {
            nodes.Sort(static (a, b) => b.Item.SequenceNr.CompareTo(a.Item.SequenceNr));
            return;
        }
        for (int i = 1; i < nodes.Length; i++)
        {
            var item = nodes[i];
            long seq = item.Item.SequenceNr;
            int j = i - 1;
            while (j >= 0 && nodes[j].Item.SequenceNr < seq) { nodes[j + 1] = nodes[j]; j--; }
            nodes[j + 1] = item;
        }
    }

    /// <summary>Kahn's algorithm, latest-created node first among the ready ones (for a graph with an edge to a newer node).</summary>
    private static void KahnOrder(Scratch scratch)
    {
        var nodes = scratch.Nodes;
        var dependencies = new Dictionary<BackwardNode, int>(nodes.Count, NodeIdentity.Instance);
        for (int i = 0; i < nodes.Count; i++) dependencies.TryAdd(nodes[i], 0);
        for (int i = 0; i < nodes.Count; i++)
            foreach (var edge in nodes[i].Next)
                if (edge.Node is { } next) dependencies[next]++;
        var ready = new PriorityQueue<BackwardNode, long>();
        foreach (var (node, count) in dependencies)
            if (count == 0) ready.Enqueue(node, -node.SequenceNr);
        int n = 0;
        while (ready.TryDequeue(out var node, out _))
        {
            nodes[n++] = node;
            foreach (var edge in node.Next)
            {
                if (edge.Node is not { } next) continue;
                if (--System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(dependencies, next) == 0) ready.Enqueue(next, -next.SequenceNr);
            }
        }
    }

    /// <summary>Fills <c>scratch.Leads</c>: the nodes that must run for a gradient to reach one of the captured nodes.</summary>
    private static void FindLeads(Scratch scratch)
    {
        var leads = scratch.Leads;
        for (int i = scratch.Nodes.Count - 1; i >= 0; i--)
        {
            var node = scratch.Nodes[i];
            foreach (var edge in node.Next)
            {
                if (edge.Node is { } next && (scratch.CaptureHeads.ContainsKey(next) || leads.Contains(next)))
                {
                    leads.Add(node);
                    break;
                }
            }
        }
    }
}
