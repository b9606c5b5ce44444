namespace NativeGrad.Autograd;

/// <summary>Finite-difference checks of analytic gradients, as PyTorch's <c>gradcheck</c> and <c>gradgradcheck</c>.</summary>
public static class GradCheck
{
    /// <summary>
    /// Compares the full Jacobian of <paramref name="function"/> computed by backward passes with central finite
    /// differences, for every float64 input that requires grad. Throws <see cref="GradCheckException"/> naming the
    /// input and the worst element on a mismatch; returns true otherwise.
    /// </summary>
    public static bool Check(Func<Tensor[], Tensor> function, Tensor[] inputs, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(inputs);
        foreach (var t in inputs)
            if (t.RequiresGrad && t.DType != DType.Float64)
                throw new ArgumentException($"gradcheck needs float64 inputs (got {t.DType.TorchName()}); float32 finite differences are too coarse.");

        var output = function(inputs);
        long outCount = output.NumElements;
        var diffIndices = Enumerable.Range(0, inputs.Length).Where(i => inputs[i].RequiresGrad).ToArray();
        var diffInputs = diffIndices.Select(i => inputs[i]).ToArray();

        // Analytic Jacobian, one backward per output element.
        var analytic = diffInputs.Select(t => new double[outCount, t.NumElements]).ToArray();
        // An output that does not require grad is constant in the inputs: its analytic Jacobian is zero.
        for (long j = 0; j < (output.RequiresGrad ? outCount : 0); j++)
        {
            var oneHot = new double[outCount];
            oneHot[j] = 1;
            var gradOut = Tensor.FromSpan<double>(oneHot, output.ShapeArray);
            var grads = Autograd.Grad([output], diffInputs, [gradOut], retainGraph: true, allowUnused: true);
            for (int k = 0; k < diffInputs.Length; k++)
            {
                if (grads[k] is null) continue;
                var g = grads[k]!.ToDoubleArray();
                for (int e = 0; e < g.Length; e++) analytic[k][j, e] = g[e];
            }
        }

        // Numerical Jacobian by central differences on each input element.
        for (int k = 0; k < diffInputs.Length; k++)
        {
            var input = diffInputs[k];
            var original = input.ToDoubleArray();
            for (int e = 0; e < original.Length; e++)
            {
                double[] plus, minus;
                using (Autograd.NoGrad())
                {
                    plus = Evaluate(function, inputs, diffIndices[k], original, e, original[e] + eps);
                    minus = Evaluate(function, inputs, diffIndices[k], original, e, original[e] - eps);
                }
                for (long j = 0; j < outCount; j++)
                {
                    double numeric = (plus[j] - minus[j]) / (2 * eps);
                    double a = analytic[k][j, e];
                    if (double.IsNaN(numeric) && double.IsNaN(a)) continue;
                    if (!(Math.Abs(a - numeric) <= atol + rtol * Math.Abs(numeric)))
                        throw new GradCheckException(
                            $"Jacobian mismatch for input {diffIndices[k]} (shape {Shapes.Format(input.Shape)}), output element {j}, input element {e}: numerical {numeric:R}, analytical {a:R}");
                }
            }
        }
        return true;
    }

    private static double[] Evaluate(Func<Tensor[], Tensor> function, Tensor[] inputs, int which, double[] values, int element, double value)
    {
        var copy = (double[])values.Clone();
        copy[element] = value;
        var perturbed = (Tensor[])inputs.Clone();
        perturbed[which] = Tensor.FromSpan<double>(copy, inputs[which].ShapeArray).RequiresGrad_(inputs[which].RequiresGrad);
        return function(perturbed).ToDoubleArray();
    }

    /// <summary>
    /// Checks second-order gradients: gradcheck of the function inputs ↦ vector-Jacobian product (computed with
    /// <c>createGraph: true</c>) for a fixed random vector, as PyTorch's <c>gradgradcheck</c>.
    /// </summary>
    public static bool CheckSecondOrder(Func<Tensor[], Tensor> function, Tensor[] inputs, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(function);
        var output = function(inputs);
        var v = Tensor.Randn(output.ShapeArray.ToArray(), DType.Float64, new Generator(seed));
        var diff = Enumerable.Range(0, inputs.Length).Where(i => inputs[i].RequiresGrad).ToArray();
        Tensor FirstOrder(Tensor[] xs)
        {
            // Finite differences evaluate under NoGrad; the first-order gradient itself needs a graph.
            using var mode = Autograd.EnableGrad();
            var y = function(xs);
            var grads = Autograd.Grad([y], diff.Select(i => xs[i]).ToArray(), [v], createGraph: true, allowUnused: true);
            var parts = new List<Tensor>();
            for (int k = 0; k < grads.Length; k++)
                parts.Add((grads[k] ?? Tensor.ZerosLike(xs[diff[k]])).Reshape(-1));
            return Tensor.Cat(parts, 0);
        }
        return Check(FirstOrder, inputs, eps, atol, rtol);
    }
}

/// <summary>Thrown by <see cref="GradCheck"/> when analytic and numerical gradients disagree.</summary>
public sealed class GradCheckException(string message) : Exception(message);
