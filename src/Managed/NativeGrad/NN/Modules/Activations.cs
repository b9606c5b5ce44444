namespace NativeGrad.NN;

/// <summary>max(0, x) element-wise, PyTorch's <c>nn.ReLU</c>.</summary>
public sealed class ReLU : Module
{
    /// <summary>Applies ReLU.</summary>
    /// <param name="input">Any floating tensor.</param>
    public override Tensor Forward(Tensor input) => input.Relu();
}

/// <summary>x Φ(x) element-wise, PyTorch's <c>nn.GELU</c>, exact (erf) or with the tanh approximation.</summary>
public sealed class GELU : Module
{
    /// <summary>Creates the activation.</summary>
    /// <param name="approximate">"none" (the erf form, default) or "tanh".</param>
    public GELU(string approximate = "none")
    {
        if (approximate is not ("none" or "tanh"))
            throw new ArgumentException($"approximate must be \"none\" or \"tanh\", got \"{approximate}\"", nameof(approximate));
        Approximate = approximate;
    }

    /// <summary>"none" or "tanh".</summary>
    public string Approximate { get; }

    /// <summary>Applies GELU.</summary>
    /// <param name="input">Any floating tensor.</param>
    public override Tensor Forward(Tensor input) => input.Gelu(Approximate);

    /// <inheritdoc/>
    protected override string ExtraRepr() => Approximate == "none" ? "" : $"approximate='{Approximate}'";
}

/// <summary>tanh(x) element-wise, PyTorch's <c>nn.Tanh</c>.</summary>
public sealed class Tanh : Module
{
    /// <summary>Applies tanh.</summary>
    /// <param name="input">Any floating tensor.</param>
    public override Tensor Forward(Tensor input) => input.Tanh();
}

/// <summary>1 / (1 + e^-x) element-wise, PyTorch's <c>nn.Sigmoid</c>.</summary>
public sealed class Sigmoid : Module
{
    /// <summary>Applies the logistic sigmoid.</summary>
    /// <param name="input">Any floating tensor.</param>
    public override Tensor Forward(Tensor input) => input.Sigmoid();
}
