namespace NativeGrad.Autograd;

public static partial class Autograd
{
    /// <summary>
    /// PyTorch's <c>torch.autograd.functional</c>: Jacobians, Hessians and their products for functions of tensors.
    /// <c>createGraph</c> makes the results differentiable.
    /// </summary>
    public static class Functional
    {
        private static Tensor[] Prepare(Tensor[] inputs) =>
            inputs.Select(x =>
            {
                var copy = x.Detach();
                using (GradMode.EnableGrad()) return copy.RequiresGrad_(x.DType.IsFloatingPoint());
            }).ToArray();

        /// <summary>The vector-Jacobian product vᵀ J of <paramref name="function"/> at <paramref name="inputs"/>; also returns the output.</summary>
        public static (Tensor Output, Tensor[] Vjp) Vjp(Func<Tensor[], Tensor> function, Tensor[] inputs, Tensor? v = null, bool createGraph = false)
        {
            ArgumentNullException.ThrowIfNull(function);
            var xs = createGraph ? inputs : Prepare(inputs);
            using var mode = GradMode.EnableGrad();
            var output = function(xs);
            if (!output.RequiresGrad) return (output, xs.Select(Tensor.ZerosLike).ToArray());
            var grads = Grad([output], xs, v is null ? null : [v], retainGraph: createGraph, createGraph: createGraph, allowUnused: true);
            return (output, grads.Select((g, i) => g ?? Tensor.ZerosLike(xs[i])).ToArray());
        }

        /// <summary>The Jacobian-vector product J v, by the double-vjp trick; also returns the output.</summary>
        public static (Tensor Output, Tensor Jvp) Jvp(Func<Tensor[], Tensor> function, Tensor[] inputs, Tensor[] v, bool createGraph = false)
        {
            ArgumentNullException.ThrowIfNull(v);
            var xs = createGraph ? inputs : Prepare(inputs);
            using var mode = GradMode.EnableGrad();
            var output = function(xs);
            // g(u) = uᵀ J is linear in u, so d/du (g(u) · v) = J v.
            var u = Tensor.Zeros(output.ShapeArray.ToArray(), output.DType, requiresGrad: true);
            var g = Grad([output], xs, [u], retainGraph: true, createGraph: true, allowUnused: true);
            Tensor? dot = null;
            for (int i = 0; i < g.Length; i++)
            {
                if (g[i] is null) continue;
                var term = (g[i]! * v[i]).Sum();
                dot = dot is null ? term : dot + term;
            }
            if (dot is null || !dot.RequiresGrad) return (output, Tensor.ZerosLike(output));
            var jvp = Grad([dot], [u], createGraph: createGraph, allowUnused: true)[0] ?? Tensor.ZerosLike(output);
            return (output, jvp);
        }

        /// <summary>The Jacobian of a single-input function: shape output.shape + input.shape.</summary>
        public static Tensor Jacobian(Func<Tensor, Tensor> function, Tensor input, bool createGraph = false)
            => Jacobian(xs => function(xs[0]), [input], createGraph)[0];

        /// <summary>The Jacobian with respect to each input: entry i has shape output.shape + inputs[i].shape.</summary>
        public static Tensor[] Jacobian(Func<Tensor[], Tensor> function, Tensor[] inputs, bool createGraph = false)
        {
            ArgumentNullException.ThrowIfNull(function);
            var xs = createGraph ? inputs : Prepare(inputs);
            using var mode = GradMode.EnableGrad();
            var output = function(xs);
            long n = output.NumElements;
            var rows = xs.Select(_ => new List<Tensor>()).ToArray();
            for (long j = 0; j < n; j++)
            {
                var oneHot = Tensor.Zeros([n], output.DType);
                using (GradMode.NoGrad()) oneHot.Narrow(0, j, 1).Fill(1.0);
                var grads = output.RequiresGrad
                    ? Grad([output], xs, [oneHot.Reshape(output.ShapeArray)], retainGraph: true, createGraph: createGraph, allowUnused: true)
                    : new Tensor?[xs.Length];
                for (int i = 0; i < xs.Length; i++) rows[i].Add((grads[i] ?? Tensor.ZerosLike(xs[i])).Reshape(-1));
            }
            var result = new Tensor[xs.Length];
            for (int i = 0; i < xs.Length; i++)
            {
                long[] shape = [.. output.ShapeArray, .. xs[i].ShapeArray];
                result[i] = n == 0 ? Tensor.Zeros(shape, xs[i].DType) : Tensor.Stack(rows[i], 0).Reshape(shape);
            }
            return result;
        }

        /// <summary>The Hessian of a scalar function of one input: shape input.shape + input.shape.</summary>
        public static Tensor Hessian(Func<Tensor, Tensor> function, Tensor input, bool createGraph = false)
        {
            ArgumentNullException.ThrowIfNull(function);
            return Jacobian(x =>
            {
                var y = function(x);
                if (y.NumElements != 1) throw new ArgumentException($"hessian: the function must return a single-element tensor, got shape {Shapes.Format(y.Shape)}");
                return y.RequiresGrad ? Grad([y], [x], createGraph: true, allowUnused: true)[0] ?? Tensor.ZerosLike(x) : Tensor.ZerosLike(x);
            }, input, createGraph);
        }

        /// <summary>The Hessian-vector product H v of a scalar function of one input; also returns the function's value.</summary>
        public static (Tensor Output, Tensor Hvp) Hvp(Func<Tensor, Tensor> function, Tensor input, Tensor v, bool createGraph = false)
        {
            ArgumentNullException.ThrowIfNull(function);
            var x = createGraph ? input : Prepare([input])[0];
            using var mode = GradMode.EnableGrad();
            var y = function(x);
            if (y.NumElements != 1) throw new ArgumentException($"hvp: the function must return a single-element tensor, got shape {Shapes.Format(y.Shape)}");
            var g = Grad([y], [x], createGraph: true, allowUnused: true)[0];
            if (g is null || !g.RequiresGrad) return (y, Tensor.ZerosLike(x));
            var hv = Grad([(g * v).Sum()], [x], createGraph: createGraph, allowUnused: true)[0] ?? Tensor.ZerosLike(x);
            return (y, hv);
        }
    }
}
