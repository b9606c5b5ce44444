using NativeGrad.Autograd;

namespace NativeGrad.Ops;

/// <summary>Records op results in the backward graph. Ops call <see cref="IsRecording(Tensor)"/> first so that the no-grad path builds nothing.</summary>
internal static class Graph
{
    public static bool IsRecording(Tensor a) => GradMode.IsEnabled && a.RequiresGrad;

    public static bool IsRecording(Tensor a, Tensor? b) => GradMode.IsEnabled && (a.RequiresGrad || (b is not null && b.RequiresGrad));

    public static bool IsRecording(Tensor a, Tensor? b, Tensor? c) => GradMode.IsEnabled && (a.RequiresGrad || (b?.RequiresGrad ?? false) || (c?.RequiresGrad ?? false));

    public static bool IsRecording(ReadOnlySpan<Tensor> inputs)
    {
        if (!GradMode.IsEnabled) return false;
        foreach (var t in inputs) if (t.RequiresGrad) return true;
        return false;
    }

    /// <summary>
    /// Makes <paramref name="result"/> the output of a node named <paramref name="name"/> whose backward is
    /// <paramref name="backward"/>; <paramref name="saved"/> may include the result itself. The spans are the ops'
    /// collection expressions (on the stack); the node, with its three small arrays (edges, input shapes, saved
    /// tensors), comes from the thread's spares when one is free.
    /// </summary>
    public static Tensor Record(string name, Tensor result, ReadOnlySpan<Tensor?> inputs, ReadOnlySpan<Tensor?> saved, BackwardFormula backward)
        => Record(name, result, inputs, saved, 0, backward);

    /// <summary>
    /// <see cref="Record(string, Tensor, ReadOnlySpan{Tensor?}, ReadOnlySpan{Tensor?}, BackwardFormula)"/> with a number
    /// the formula reads back as <see cref="BackwardContext.Scalar"/>: a formula that needs only that can be a static
    /// lambda (a lambda capturing an op's parameter allocates its closure on every call of the op, recording or not).
    /// </summary>
    public static Tensor Record(string name, Tensor result, ReadOnlySpan<Tensor?> inputs, ReadOnlySpan<Tensor?> saved, double scalar, BackwardFormula backward)
    {
        var state = ThreadState.Current;
        var node = FunctionNode.Rent(inputs.Length, saved.Length, state);
        for (int i = 0; i < inputs.Length; i++)
        {
            if (inputs[i] is { } input) node.SetInput(i, input.GradientEdge(), new InputMeta(input.ShapeArray, input.DType));
        }
        node.Start(name, backward, scalar);
        result.SetNewGradFn(node);
        var savedTensors = node.SavedTensors;
        for (int i = 0; i < saved.Length; i++) savedTensors[i] = new SavedTensor(saved[i] ?? throw new ArgumentNullException(nameof(saved)), name, node);
        return result;
    }
}
