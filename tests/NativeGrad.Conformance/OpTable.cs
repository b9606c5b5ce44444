using System.Text.Json;
using NativeGrad.NN;

namespace NativeGrad.Conformance;

/// <summary>The arguments of one program step, resolved: tensors by name, numbers, tensor lists and PyTorch keyword attrs.</summary>
public sealed class StepArgs(OracleStep step, IReadOnlyDictionary<string, Tensor> values)
{
    public int Count => step.Args.Length;

    public Tensor T(int i) => Resolve(step.Args[i]);

    public Tensor? OptionalT(int i) => i < step.Args.Length && step.Args[i].ValueKind != JsonValueKind.Null ? T(i) : null;

    public bool IsNumber(int i) => step.Args[i].ValueKind == JsonValueKind.Number;

    public double Number(int i) => step.Args[i].GetDouble();

    public Tensor[] List(int i) => step.Args[i].EnumerateArray().Select(Resolve).ToArray();

    private Tensor Resolve(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.String) throw new FormatException($"{step.Op}: expected a tensor name, got {e}");
        string name = e.GetString()!;
        return values.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"{step.Op}: unknown tensor '{name}'");
    }

    public bool Has(string attr) => step.Attrs.ContainsKey(attr) && step.Attrs[attr].ValueKind != JsonValueKind.Null;

    public double Double(string attr, double fallback) => Has(attr) ? OracleTensor.ReadNumber(step.Attrs[attr]) : fallback;

    public long Long(string attr, long fallback) => Has(attr) ? step.Attrs[attr].GetInt64() : fallback;

    public bool Bool(string attr, bool fallback) => Has(attr) ? step.Attrs[attr].GetBoolean() : fallback;

    public string String(string attr, string fallback) => Has(attr) ? step.Attrs[attr].GetString()! : fallback;

    /// <summary>An int or a list of ints (dims, kernel sizes); null when absent.</summary>
    public long[]? Longs(string attr)
    {
        if (!Has(attr)) return null;
        var e = step.Attrs[attr];
        return e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().Select(x => x.GetInt64()).ToArray() : [e.GetInt64()];
    }

    /// <summary>An attr that names an input tensor (pos_weight).</summary>
    public Tensor? NamedTensor(string attr) => Has(attr) ? Resolve(step.Attrs[attr]) : null;

    public Reduction Reduction => Functional.ParseReduction(String("reduction", "mean"));
}

/// <summary>Maps each oracle op name to the NativeGrad call that implements it. An op missing here fails its case.</summary>
public static class OpTable
{
    public static readonly IReadOnlyDictionary<string, Func<StepArgs, Tensor>> Ops = new Dictionary<string, Func<StepArgs, Tensor>>
    {
        // unary
        ["neg"] = a => a.T(0).Neg(),
        ["exp"] = a => a.T(0).Exp(),
        ["log"] = a => a.T(0).Log(),
        ["sqrt"] = a => a.T(0).Sqrt(),
        ["rsqrt"] = a => a.T(0).Rsqrt(),
        ["abs"] = a => a.T(0).Abs(),
        ["sin"] = a => a.T(0).Sin(),
        ["cos"] = a => a.T(0).Cos(),
        ["tanh"] = a => a.T(0).Tanh(),
        ["sigmoid"] = a => a.T(0).Sigmoid(),
        ["relu"] = a => a.T(0).Relu(),
        ["gelu"] = a => a.T(0).Gelu(a.String("approximate", "none")),
        ["silu"] = a => a.T(0).Silu(),
        ["softplus"] = a => a.T(0).Softplus(a.Double("beta", 1), a.Double("threshold", 20)),
        ["leaky_relu"] = a => a.T(0).LeakyRelu(a.Double("negative_slope", 0.01)),
        ["elu"] = a => a.T(0).Elu(a.Double("alpha", 1)),
        ["log1p"] = a => a.T(0).Log1p(),
        ["expm1"] = a => a.T(0).Expm1(),
        ["reciprocal"] = a => a.T(0).Reciprocal(),
        ["square"] = a => a.T(0).Square(),
        ["clamp"] = a => a.T(0).Clamp(a.Has("min") ? a.Double("min", 0) : null, a.Has("max") ? a.Double("max", 0) : null),
        // binary
        ["add"] = a => a.IsNumber(1) ? a.T(0).Add(a.Number(1) * a.Double("alpha", 1)) : a.T(0).Add(a.T(1), a.Double("alpha", 1)),
        ["sub"] = a => a.IsNumber(1) ? a.T(0).Sub(a.Number(1) * a.Double("alpha", 1)) : a.T(0).Sub(a.T(1), a.Double("alpha", 1)),
        ["mul"] = a => a.IsNumber(1) ? a.T(0).Mul(a.Number(1)) : a.T(0).Mul(a.T(1)),
        ["div"] = a => a.IsNumber(1) ? a.T(0).Div(a.Number(1)) : a.T(0).Div(a.T(1)),
        ["pow"] = a => a.IsNumber(1) ? a.T(0).Pow(a.Number(1)) : a.T(0).Pow(a.T(1)),
        ["maximum"] = a => a.T(0).Maximum(a.T(1)),
        ["minimum"] = a => a.T(0).Minimum(a.T(1)),
        // reductions
        ["sum"] = a => a.Has("dim") ? a.T(0).Sum(a.Longs("dim")!, a.Bool("keepdim", false)) : a.T(0).Sum(),
        ["mean"] = a => a.Has("dim") ? a.T(0).Mean(a.Longs("dim")!, a.Bool("keepdim", false)) : a.T(0).Mean(),
        ["amax"] = a => a.T(0).Amax(a.Longs("dim"), a.Bool("keepdim", false)),
        ["prod"] = a => a.Has("dim") ? a.T(0).Prod(a.Long("dim", 0), a.Bool("keepdim", false)) : a.T(0).Prod(),
        ["var"] = a => a.T(0).Var(a.Longs("dim"), a.Double("correction", 1), a.Bool("keepdim", false)),
        ["std"] = a => a.T(0).Std(a.Longs("dim"), a.Double("correction", 1), a.Bool("keepdim", false)),
        ["logsumexp"] = a => a.T(0).LogSumExp(a.Longs("dim")!, a.Bool("keepdim", false)),
        ["norm"] = a => a.T(0).Norm(a.Double("p", 2), a.Longs("dim"), a.Bool("keepdim", false)),
        // shapes and views
        ["reshape"] = a => a.T(0).Reshape(a.Longs("shape")!),
        ["transpose"] = a => a.T(0).Transpose(a.Long("dim0", 0), a.Long("dim1", 1)),
        ["permute"] = a => a.T(0).Permute(a.Longs("dims")!),
        ["unsqueeze"] = a => a.T(0).Unsqueeze(a.Long("dim", 0)),
        ["squeeze"] = a => a.Has("dim") ? a.T(0).Squeeze(a.Long("dim", 0)) : a.T(0).Squeeze(),
        ["flatten"] = a => a.T(0).Flatten(a.Long("start_dim", 0), a.Long("end_dim", -1)),
        ["expand"] = a => a.T(0).Expand(a.Longs("size")!),
        ["narrow"] = a => a.T(0).Narrow(a.Long("dim", 0), a.Long("start", 0), a.Long("length", 0)),
        ["index_select"] = a => a.T(0).IndexSelect(a.Long("dim", 0), a.T(1)),
        ["cat"] = a => Tensor.Cat(a.List(0), a.Long("dim", 0)),
        ["stack"] = a => Tensor.Stack(a.List(0), a.Long("dim", 0)),
        // linear algebra
        ["matmul"] = a => a.T(0).MatMul(a.T(1)),
        ["mm"] = a => a.T(0).Mm(a.T(1)),
        ["linear"] = a => Functional.Linear(a.T(0), a.T(1), a.OptionalT(2)),
        // nn.functional
        ["softmax"] = a => Functional.Softmax(a.T(0), a.Long("dim", -1)),
        ["log_softmax"] = a => Functional.LogSoftmax(a.T(0), a.Long("dim", -1)),
        ["cross_entropy"] = a => Functional.CrossEntropy(a.T(0), a.T(1), reduction: a.Reduction, labelSmoothing: a.Double("label_smoothing", 0)),
        ["nll_loss"] = a => Functional.NllLoss(a.T(0), a.T(1), reduction: a.Reduction),
        ["binary_cross_entropy_with_logits"] = a => Functional.BinaryCrossEntropyWithLogits(a.T(0), a.T(1), posWeight: a.NamedTensor("pos_weight"), reduction: a.Reduction),
        ["binary_cross_entropy"] = a => Functional.BinaryCrossEntropy(a.T(0), a.T(1), reduction: a.Reduction),
        ["mse_loss"] = a => Functional.MseLoss(a.T(0), a.T(1), a.Reduction),
        ["l1_loss"] = a => Functional.L1Loss(a.T(0), a.T(1), a.Reduction),
        ["smooth_l1_loss"] = a => Functional.SmoothL1Loss(a.T(0), a.T(1), a.Reduction, a.Double("beta", 1.0)),
        ["layer_norm"] = a => Functional.LayerNorm(a.T(0), a.Longs("normalized_shape")!, a.OptionalT(1), a.OptionalT(2), a.Double("eps", 1e-5)),
        ["embedding"] = a => Functional.Embedding(a.T(0), a.T(1)),
        ["conv2d"] = a => Functional.Conv2d(a.T(0), a.T(1), a.OptionalT(2), Pair(a.Longs("stride"), 1), Pair(a.Longs("padding"), 0)),
        ["max_pool2d"] = a => Functional.MaxPool2d(a.T(0), Pair(a.Longs("kernel_size"), 1), a.Has("stride") ? Pair(a.Longs("stride"), 1) : null),
    };

    private static (long, long) Pair(long[]? values, long fallback) => values switch
    {
        null => (fallback, fallback),
        [var v] => (v, v),
        [var h, var w] => (h, w),
        _ => throw new ArgumentException($"expected an int or a pair, got {values.Length} values"),
    };
}
