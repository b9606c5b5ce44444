namespace NativeGrad.Backends;

// These enums mirror native/include/nativegrad.h value for value: the native backend passes them straight through.

/// <summary>Element-wise unary kernels: y = f(x; alpha, beta).</summary>
internal enum UnaryOp
{
    Neg = 0, Exp = 1, Log = 2, Sqrt = 3, Rsqrt = 4, Abs = 5, Sin = 6, Cos = 7, Tanh = 8, Sigmoid = 9, Relu = 10,
    Log1p = 11, Expm1 = 12, Reciprocal = 13, Square = 14, Sign = 15, Erf = 16, PowScalar = 17, Clamp = 18,
    Softplus = 19, GtScalar = 20, LtScalar = 21, GeScalar = 22, LeScalar = 23, Affine = 24, Silu = 25, Gelu = 26,
    GeluTanh = 27, LeakyRelu = 28, Elu = 29, LogSigmoid = 30,
}

/// <summary>Element-wise binary kernels with broadcasting through strides.</summary>
internal enum BinaryOp
{
    Add = 0, Sub = 1, Mul = 2, Div = 3, Pow = 4, Maximum = 5, Minimum = 6, Eq = 7, Gt = 8, Lt = 9, Ge = 10, Le = 11,
    /// <summary>
    /// Fused binary_cross_entropy_with_logits loss (a = logits, b = targets): (1 - b) a + log(1 + e^-a), as
    /// ((1 - b) a for a &gt;= 0, -(b a) otherwise) + log1p(e^-|a|); vectors in the element type, single elements in double.
    /// </summary>
    BceWithLogits = 12,
    /// <summary>sigmoid(a) - b: the logits' gradient of <see cref="BceWithLogits"/>.</summary>
    SigmoidSub = 13,
}

/// <summary>Reductions over the middle axis of [outer, n, inner].</summary>
internal enum ReduceOp
{
    Sum = 0, Prod = 1, Max = 2, Min = 3,
}
