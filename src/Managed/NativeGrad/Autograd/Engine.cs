namespace NativeGrad.Autograd;

/// <summary>
/// Executes the backward graph: discovers the nodes reachable from the roots, orders them topologically
/// (iteratively: a chain of 100,000 ops needs no deep stack), runs each node once with the sum of its
/// incoming gradients, and either accumulates into leaves' <see cref="Tensor.Grad"/> or captures the
/// gradients of requested inputs.
/// </summary>
internal static class Engine
{
    /// <summary>The collections one backward pass needs, reused by the next pass on the same thread (no allocation in steady state).</summary>
    internal sealed class Scratch
    {
        public readonly Dictionary<BackwardNode, int> Dependencies = new(NodeIdentity.Instance);
        public readonly Stack<BackwardNode> Stack = new();
        public readonly ReadyQueue Ready = new();
        public readonly List<BackwardNode> Order = [];
        public readonly Dictionary<BackwardNode, Tensor?[]> Buffers = new(NodeIdentity.Instance);

        /// <summary>Gradients stored in some slot during this pass, and those others may hold too (roots, duplicates, hooked).</summary>
        public readonly HashSet<Tensor> Stored = new(TensorIdentity.Instance);
        public readonly HashSet<Tensor> Shared = new(TensorIdentity.Instance);

        /// <summary>The nodes this pass claimed (their EngineRun is <see cref="RunId"/>); empty when it uses the dictionaries.</summary>
        public readonly List<BackwardNode> Claimed = [];
        public int RunId;
        public bool OnNodes;

        public bool IsExclusive(Tensor t) => !Shared.Contains(t);

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
            if (OnNodes) return node.EngineGrads ??= new Tensor?[node.NumOutputs];
            if (!Buffers.TryGetValue(node, out var slots)) Buffers[node] = slots = new Tensor?[node.NumOutputs];
            return slots;
        }

        /// <summary>Gives the claimed nodes back (and drops gradients left in their slots by an interrupted pass).</summary>
        public void Unclaim()
        {
            foreach (var node in Claimed)
            {
                node.EngineGrads = null;
                node.EngineDeps = 0;
                Volatile.Write(ref node.EngineRun, 0);
            }
            Claimed.Clear();
            OnNodes = false;
        }

        public void Clear()
        {
            Unclaim();
            Stored.Clear();
            Shared.Clear();
            Dependencies.Clear();
            Stack.Clear();
            Ready.Clear();
            Order.Clear();
            Buffers.Clear();
        }
    }

    /// <summary>Reference identity hashed by the creation number (RuntimeHelpers.GetHashCode's first call on an object is slow).</summary>
    private sealed class NodeIdentity : IEqualityComparer<BackwardNode>
    {
        public static readonly NodeIdentity Instance = new();
        public bool Equals(BackwardNode? x, BackwardNode? y) => ReferenceEquals(x, y);
        public int GetHashCode(BackwardNode node) => (int)node.SequenceNr;
    }

    /// <summary>Reference identity hashed by <see cref="Tensor.HashId"/>.</summary>
    private sealed class TensorIdentity : IEqualityComparer<Tensor>
    {
        public static readonly TensorIdentity Instance = new();
        public bool Equals(Tensor? x, Tensor? y) => ReferenceEquals(x, y);
        public int GetHashCode(Tensor t) => t.HashId;
    }

    // A backward started from inside a backward (a hook, a custom function) takes fresh collections.
    private static Scratch? _idle
    {
        get => ThreadState.Current.IdleEngineScratch;
        set => ThreadState.Current.IdleEngineScratch = value;
    }
    private static int _nextRunId;

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

        Dictionary<BackwardNode, List<(int InputNr, int Index)>>? captures = null;
        if (inputs is not null)
        {
            captures = new Dictionary<BackwardNode, List<(int, int)>>(ReferenceEqualityComparer.Instance);
            for (int i = 0; i < inputs.Length; i++)
            {
                if (!inputs[i].RequiresGrad)
                    throw new InvalidOperationException($"One of the differentiated Tensors (index {i}) does not require grad");
                var edge = inputs[i].GradientEdge();
                if (!captures.TryGetValue(edge.Node!, out var list)) captures[edge.Node!] = list = [];
                list.Add((edge.InputNr, i));
            }
        }

        var scratch = _idle ?? new Scratch();
        _idle = null;
        try
        {
            return Execute(scratch, rootEdges, rootGrads, retainGraph, createGraph, inputs, captures, accumulate);
        }
        finally
        {
            bool huge = scratch.Order.Count > 65536; // do not keep a giant graph's capacity around
            scratch.Clear();
            if (!huge) _idle = scratch;
        }
    }

    private static Tensor?[]? Execute(Scratch scratch, GradientEdge[] rootEdges, Tensor[] rootGrads, bool retainGraph, bool createGraph,
                                      Tensor[]? inputs, Dictionary<BackwardNode, List<(int InputNr, int Index)>>? captures, bool accumulate)
    {
        var order = TopologicalOrder(scratch, rootEdges);
        HashSet<BackwardNode>? needed = captures is null ? null : NodesLeadingTo(order, captures);

        for (int i = 0; i < rootEdges.Length; i++)
        {
            scratch.Shared.Add(rootGrads[i]); // the caller's tensor
            AddGrad(scratch, rootEdges[i], rootGrads[i]);
        }

        var results = accumulate ? null : new Tensor?[inputs!.Length];
        using var mode = createGraph ? GradMode.EnableGrad() : GradMode.NoGrad();
        foreach (var node in order)
        {
            if (scratch.TakeGrads(node) is not { } grads) continue; // nothing flowed into it
            if (node.HasHooks) foreach (var g in grads) if (g is not null) scratch.Shared.Add(g);
            grads = node.RunTensorHooks(grads);

            if (captures is not null && captures.TryGetValue(node, out var wanted))
            {
                foreach (var (inputNr, index) in wanted)
                {
                    if (accumulate) { if (node is AccumulateGrad leaf && grads[inputNr] is { } g) leaf.Accumulate(g, createGraph, scratch.IsExclusive(g)); }
                    else results![index] = grads[inputNr];
                }
            }
            else if (node is AccumulateGrad leaf && accumulate && captures is null)
            {
                if (grads[0] is { } g) leaf.Accumulate(g, createGraph, scratch.IsExclusive(g));
            }

            if (node is AccumulateGrad) continue;
            if (needed is not null && !needed.Contains(node)) continue;

            var inputGrads = node.Run(grads);
            if (node.HasHooks) foreach (var g in inputGrads) if (g is not null) scratch.Shared.Add(g);
            if (AnomalyMode.IsEnabled) AnomalyMode.Check(node, inputGrads);
            if (!retainGraph) node.ReleaseSavedTensors();
            var next = node.Next;
            for (int i = 0; i < next.Length; i++)
            {
                if (next[i].Node is null || i >= inputGrads.Length || inputGrads[i] is null) continue;
                AddGrad(scratch, next[i], inputGrads[i]!);
            }
        }
        return results;
    }

    private static void AddGrad(Scratch scratch, GradientEdge edge, Tensor grad)
    {
        var slots = scratch.SlotsOf(edge.Node!);
        if (slots[edge.InputNr] is { } existing)
        {
            slots[edge.InputNr] = existing + grad; // a fresh sum, held by this slot only
            return;
        }
        if (!scratch.Stored.Add(grad)) scratch.Shared.Add(grad); // one tensor given to two slots (e.g. add's backward)
        slots[edge.InputNr] = grad;
    }

    /// <summary>Kahn's algorithm over the graph reachable from the roots, latest-created node first among the ready ones.</summary>
    private static List<BackwardNode> TopologicalOrder(Scratch scratch, GradientEdge[] rootEdges)
    {
        if (ClaimedOrder(scratch, rootEdges) is { } order) return order;
        return DictionaryOrder(scratch, rootEdges);
    }

    /// <summary>
    /// The order with the counts kept on the nodes, each claimed for this pass with one compare-exchange; null (all
    /// claims given back) when some node belongs to another pass running now (another thread's, or an outer pass on
    /// this thread that a hook started this one from).
    /// </summary>
    private static List<BackwardNode>? ClaimedOrder(Scratch scratch, GradientEdge[] rootEdges)
    {
        int run = Interlocked.Increment(ref _nextRunId);
        if (run == 0) run = Interlocked.Increment(ref _nextRunId);
        scratch.RunId = run;
        var claimed = scratch.Claimed;
        var stack = scratch.Stack;
        foreach (var edge in rootEdges)
        {
            if (edge.Node is not { } root || root.EngineRun == run) continue;
            if (!Claim(root, run, claimed)) return GiveUp(scratch);
            stack.Push(root);
        }
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            foreach (var edge in node.Next)
            {
                if (edge.Node is not { } next) continue;
                if (next.EngineRun == run) { next.EngineDeps++; continue; }
                if (!Claim(next, run, claimed)) return GiveUp(scratch);
                next.EngineDeps = 1;
                stack.Push(next);
            }
        }
        scratch.OnNodes = true;

        var order = scratch.Order;
        var ready = scratch.Ready;
        foreach (var node in claimed)
            if (node.EngineDeps == 0) ready.Enqueue(node);
        while (ready.TryDequeue(out var node))
        {
            order.Add(node);
            foreach (var edge in node.Next)
            {
                if (edge.Node is not { } next) continue;
                if (--next.EngineDeps == 0) ready.Enqueue(next);
            }
        }
        return order;
    }

    private static bool Claim(BackwardNode node, int run, List<BackwardNode> claimed)
    {
        if (Interlocked.CompareExchange(ref node.EngineRun, run, 0) != 0) return false;
        node.EngineDeps = 0;
        node.EngineGrads = null;
        claimed.Add(node);
        return true;
    }

    private static List<BackwardNode>? GiveUp(Scratch scratch)
    {
        scratch.Stack.Clear();
        scratch.Unclaim();
        return null;
    }

    /// <summary>The same order with the counts in a dictionary (for graphs another pass is using).</summary>
    private static List<BackwardNode> DictionaryOrder(Scratch scratch, GradientEdge[] rootEdges)
    {
        var dependencies = scratch.Dependencies;
        var stack = scratch.Stack;
        foreach (var edge in rootEdges)
        {
            if (edge.Node is { } root && dependencies.TryAdd(root, 0)) stack.Push(root);
        }
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            foreach (var edge in node.Next)
            {
                if (edge.Node is not { } next) continue;
                if (dependencies.TryGetValue(next, out int count)) dependencies[next] = count + 1;
                else { dependencies[next] = 1; stack.Push(next); }
            }
        }

        var order = scratch.Order;
        var ready = scratch.Ready;
        foreach (var (node, count) in dependencies)
            if (count == 0) ready.Enqueue(node);
        while (ready.TryDequeue(out var node))
        {
            order.Add(node);
            foreach (var edge in node.Next)
            {
                if (edge.Node is not { } next) continue;
                if (--CollectionsMarshalRef(dependencies, next) == 0) ready.Enqueue(next);
            }
        }
        return order;
    }

    private static ref int CollectionsMarshalRef(Dictionary<BackwardNode, int> map, BackwardNode key)
        => ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(map, key);

    /// <summary>The nodes that must run for a gradient to reach one of the captured nodes.</summary>
    private static HashSet<BackwardNode> NodesLeadingTo(List<BackwardNode> order, Dictionary<BackwardNode, List<(int, int)>> captures)
    {
        var leads = new HashSet<BackwardNode>(ReferenceEqualityComparer.Instance);
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var node = order[i];
            foreach (var edge in node.Next)
            {
                if (edge.Node is { } next && (captures.ContainsKey(next) || leads.Contains(next)))
                {
                    leads.Add(node);
                    break;
                }
            }
        }
        return leads;
    }
}

/// <summary>
/// The nodes ready to run, latest-created first. Usually one or two are ready at a time: a short list kept sorted by
/// creation number serves that without a heap; past 32 entries (wide graphs) it moves into a priority queue.
/// </summary>
internal sealed class ReadyQueue
{
    private const int ListLimit = 32;
    private readonly List<BackwardNode> _sorted = []; // ascending SequenceNr: the next to run is last
    private readonly PriorityQueue<BackwardNode, long> _heap = new();
    private bool _inHeap;

    public void Enqueue(BackwardNode node)
    {
        if (_inHeap) { _heap.Enqueue(node, -node.SequenceNr); return; }
        int i = _sorted.Count;
        while (i > 0 && _sorted[i - 1].SequenceNr > node.SequenceNr) i--;
        _sorted.Insert(i, node);
        if (_sorted.Count <= ListLimit) return;
        foreach (var n in _sorted) _heap.Enqueue(n, -n.SequenceNr);
        _sorted.Clear();
        _inHeap = true;
    }

    public bool TryDequeue([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out BackwardNode? node)
    {
        if (_inHeap) return _heap.TryDequeue(out node, out _);
        if (_sorted.Count == 0) { node = null; return false; }
        node = _sorted[^1];
        _sorted.RemoveAt(_sorted.Count - 1);
        return true;
    }

    public void Clear()
    {
        _sorted.Clear();
        _heap.Clear();
        _inHeap = false;
    }
}
