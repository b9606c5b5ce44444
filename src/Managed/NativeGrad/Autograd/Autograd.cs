namespace NativeGrad.Autograd;

/// <summary>
/// PyTorch's <c>torch.autograd</c>: functional gradients and grad-mode scopes.
/// </summary>
public static partial class Autograd
{
    /// <summary>Disables gradient recording on this thread until disposed (PyTorch's <c>torch.no_grad()</c>).</summary>
    public static GradMode.Scope NoGrad() => GradMode.NoGrad();

    /// <summary>Enables gradient recording on this thread until disposed, also inside NoGrad (<c>torch.enable_grad()</c>).</summary>
    public static GradMode.Scope EnableGrad() => GradMode.EnableGrad();

    /// <summary>Inference mode on this thread until disposed (<c>torch.inference_mode()</c>).</summary>
    public static GradMode.Scope InferenceMode() => GradMode.InferenceMode();

    /// <summary>Sets grad mode on this thread (<c>torch.set_grad_enabled</c>).</summary>
    public static void SetGradEnabled(bool enabled) => GradMode.SetEnabled(enabled);

    /// <summary>
    /// Anomaly detection until disposed (PyTorch's <c>torch.autograd.detect_anomaly()</c>): a NaN produced in backward
    /// throws, naming the node and showing where its forward op ran.
    /// </summary>
    public static AnomalyMode.Scope DetectAnomaly() => AnomalyMode.Enter();

    /// <summary>The backward graph of <paramref name="tensor"/> as Graphviz DOT (see <see cref="GraphDot"/>).</summary>
    public static string ToDot(Tensor tensor, bool showSavedTensors = false) => GraphDot.Write(tensor, showSavedTensors);

    /// <summary>
    /// Renders the backward graph of <paramref name="tensor"/> with Graphviz <c>dot</c> into <paramref name="path"/>
    /// (format from the extension: .svg, .png, .pdf; .dot writes the DOT text). Throws a clear error when Graphviz is not installed.
    /// </summary>
    public static void Visualize(Tensor tensor, string path, bool showSavedTensors = false) => GraphDot.Render(tensor, path, showSavedTensors);

    /// <summary>True when ops on this thread record the graph.</summary>
    public static bool IsGradEnabled => GradMode.IsEnabled;

    /// <summary>
    /// Computes and returns the gradients of <paramref name="outputs"/> with respect to <paramref name="inputs"/>
    /// without touching any <see cref="Tensor.Grad"/> (PyTorch's <c>torch.autograd.grad</c>).
    /// </summary>
    /// <param name="outputs">The differentiated tensors.</param>
    /// <param name="inputs">The tensors to differentiate with respect to.</param>
    /// <param name="gradOutputs">The gradients of the outputs (null entries: 1 for scalar outputs).</param>
    /// <param name="retainGraph">Keep the graph for another backward (defaults to <paramref name="createGraph"/>).</param>
    /// <param name="createGraph">Record the computation so the result can be differentiated again.</param>
    /// <param name="allowUnused">Return null for an input the outputs do not depend on, instead of throwing.</param>
    public static Tensor?[] Grad(Tensor[] outputs, Tensor[] inputs, Tensor?[]? gradOutputs = null,
                                 bool? retainGraph = null, bool createGraph = false, bool allowUnused = false)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(inputs);
        if (gradOutputs is not null && gradOutputs.Length != outputs.Length)
            throw new ArgumentException($"grad requires one grad_output per output: got {gradOutputs.Length} for {outputs.Length} outputs");
        var rootGrads = new Tensor[outputs.Length];
        for (int i = 0; i < outputs.Length; i++)
            rootGrads[i] = MakeRootGradient(outputs[i], gradOutputs?[i], i);
        var result = Engine.Run(outputs, rootGrads, retainGraph ?? createGraph, createGraph, inputs, accumulate: false)!;
        if (!allowUnused)
        {
            for (int i = 0; i < result.Length; i++)
                if (result[i] is null)
                    throw new InvalidOperationException(
                        "One of the differentiated Tensors appears to not have been used in the graph. Set allowUnused: true if this is the desired behavior.");
        }
        return result;
    }

    /// <summary>Single output, single input form of <see cref="Grad(Tensor[], Tensor[], Tensor?[], bool?, bool, bool)"/>.</summary>
    public static Tensor? Grad(Tensor output, Tensor input, Tensor? gradOutput = null, bool? retainGraph = null, bool createGraph = false, bool allowUnused = false)
        => Grad([output], [input], gradOutput is null ? null : [gradOutput], retainGraph, createGraph, allowUnused)[0];

    internal static Tensor MakeRootGradient(Tensor output, Tensor? gradient, int index)
    {
        if (gradient is null)
        {
            if (output.NumElements != 1)
                throw new InvalidOperationException($"grad can be implicitly created only for scalar outputs (output {index} has shape {Shapes.Format(output.Shape)})");
            return Tensor.OnesLike(output); // a fresh constant: records nothing in any grad mode
        }
        if (!Shapes.SameShape(gradient.Shape, output.Shape))
            throw new ArgumentException(
                $"Mismatch in shape: grad_output[{index}] has a shape of {Shapes.Format(gradient.Shape)} and output[{index}] has a shape of {Shapes.Format(output.Shape)}.");
        return gradient.DType == output.DType ? gradient : gradient.To(output.DType);
    }
}
