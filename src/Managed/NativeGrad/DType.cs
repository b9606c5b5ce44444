namespace NativeGrad;

/// <summary>The element type of a <see cref="Tensor"/>, named as in PyTorch.</summary>
public enum DType : byte // a byte: every tensor carries one
{
    /// <summary>32-bit IEEE float (<c>torch.float32</c>).</summary>
    Float32 = 0,
    /// <summary>64-bit IEEE float (<c>torch.float64</c>).</summary>
    Float64 = 1,
    /// <summary>64-bit signed integer (<c>torch.int64</c>), used for indices and class targets.</summary>
    Int64 = 2,
}

internal static class DTypeExtensions
{
    public static int ElementSize(this DType dtype) => dtype == DType.Float32 ? 4 : 8;

    public static bool IsFloatingPoint(this DType dtype) => dtype != DType.Int64;

    public static string TorchName(this DType dtype) => dtype switch
    {
        DType.Float32 => "torch.float32",
        DType.Float64 => "torch.float64",
        _ => "torch.int64",
    };

    /// <summary>PyTorch's type promotion for two tensors of floating types: the wider wins.</summary>
    public static DType Promote(DType a, DType b) => a == b ? a : (a == DType.Float64 || b == DType.Float64 ? DType.Float64 : a);
}
