using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NativeGrad.Ops;

namespace NativeGrad;

// Factory methods, as PyTorch's torch.zeros / ones / full / randn / rand / tensor.
public sealed partial class Tensor
{
    /// <summary>The default floating dtype for factories (PyTorch's default: float32).</summary>
    public static DType DefaultDType { get; set; } = DType.Float32;

    private static long[] CheckShape(long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        Shapes.NumElements(shape);
        return (long[])shape.Clone();
    }

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(params long[] shape) => Kernels.Full(CheckShape(shape), DefaultDType, 0);

    /// <summary>A tensor of zeros of the given dtype.</summary>
    public static Tensor Zeros(long[] shape, DType dtype, bool requiresGrad = false) => Kernels.Full(CheckShape(shape), dtype, 0).RequiresGrad_(requiresGrad);

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(params long[] shape) => Kernels.Full(CheckShape(shape), DefaultDType, 1);

    /// <summary>A tensor of ones of the given dtype.</summary>
    public static Tensor Ones(long[] shape, DType dtype, bool requiresGrad = false) => Kernels.Full(CheckShape(shape), dtype, 1).RequiresGrad_(requiresGrad);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(long[] shape, double value, DType? dtype = null, bool requiresGrad = false)
        => Kernels.Full(CheckShape(shape), dtype ?? DefaultDType, value).RequiresGrad_(requiresGrad);

    /// <summary>Zeros with the shape and dtype of <paramref name="like"/>.</summary>
    public static Tensor ZerosLike(Tensor like) => Kernels.Full(like.ShapeArray, like.DType, 0);

    /// <summary>Ones with the shape and dtype of <paramref name="like"/>.</summary>
    public static Tensor OnesLike(Tensor like) => Kernels.Full(like.ShapeArray, like.DType, 1);

    /// <summary>A 0-dimensional tensor holding <paramref name="value"/>.</summary>
    public static Tensor Scalar(double value, DType? dtype = null, bool requiresGrad = false)
        => Kernels.Full([], dtype ?? DefaultDType, value).RequiresGrad_(requiresGrad);

    /// <summary>Standard normal samples (PyTorch's <c>randn</c>).</summary>
    public static Tensor Randn(params long[] shape) => Random(shape, normal: true, DefaultDType, null);

    /// <summary>Standard normal samples with a dtype and generator.</summary>
    public static Tensor Randn(long[] shape, DType dtype, Generator? generator = null, bool requiresGrad = false)
        => Random(shape, normal: true, dtype, generator).RequiresGrad_(requiresGrad);

    /// <summary>Uniform samples in [0, 1) (PyTorch's <c>rand</c>).</summary>
    public static Tensor Rand(params long[] shape) => Random(shape, normal: false, DefaultDType, null);

    /// <summary>Uniform samples in [0, 1) with a dtype and generator.</summary>
    public static Tensor Rand(long[] shape, DType dtype, Generator? generator = null, bool requiresGrad = false)
        => Random(shape, normal: false, dtype, generator).RequiresGrad_(requiresGrad);

    private static unsafe Tensor Random(long[] shape, bool normal, DType dtype, Generator? generator)
    {
        if (!dtype.IsFloatingPoint()) throw new ArgumentException($"random tensors need a floating dtype, got {dtype.TorchName()}");
        var result = Tensor.Empty(CheckShape(shape), dtype);
        var gen = generator ?? Generator.Default;
        long n = result.NumElements;
        var buffer = new double[Math.Min(n, 4096)];
        for (long start = 0; start < n; start += buffer.Length)
        {
            int count = (int)Math.Min(buffer.Length, n - start);
            gen.Fill(buffer.AsSpan(0, count), normal);
            if (dtype == DType.Float64) buffer.AsSpan(0, count).CopyTo(new Span<double>((double*)result.DataPointer + start, count));
            else for (int i = 0; i < count; i++) ((float*)result.DataPointer)[start + i] = (float)buffer[i];
        }
        return result;
    }

    /// <summary>Sets the seed of the default generator (PyTorch's <c>torch.manual_seed</c>).</summary>
    public static void ManualSeed(ulong seed) => Generator.Default.ManualSeed(seed);

    /// <summary>A float32 tensor with a copy of <paramref name="data"/> (shape defaults to [data.Length]).</summary>
    public static Tensor FromArray(float[] data, params long[] shape) => FromSpan<float>(data, shape.Length == 0 ? [data.Length] : shape, DType.Float32);

    /// <summary>A float64 tensor with a copy of <paramref name="data"/> (shape defaults to [data.Length]).</summary>
    public static Tensor FromArray(double[] data, params long[] shape) => FromSpan<double>(data, shape.Length == 0 ? [data.Length] : shape, DType.Float64);

    /// <summary>An int64 tensor with a copy of <paramref name="data"/> (shape defaults to [data.Length]).</summary>
    public static Tensor FromArray(long[] data, params long[] shape) => FromSpan<long>(data, shape.Length == 0 ? [data.Length] : shape, DType.Int64);

    /// <summary>A tensor with a copy of <paramref name="data"/> in the given shape; the dtype follows <typeparamref name="T"/> (float, double or long).</summary>
    public static Tensor FromSpan<T>(ReadOnlySpan<T> data, long[] shape) where T : unmanaged
        => FromSpan(data, shape, typeof(T) == typeof(float) ? DType.Float32 : typeof(T) == typeof(double) ? DType.Float64 : typeof(T) == typeof(long) ? DType.Int64
            : throw new ArgumentException($"Tensors hold float, double or long, not {typeof(T).Name}"));

    private static unsafe Tensor FromSpan<T>(ReadOnlySpan<T> data, long[] shape, DType dtype) where T : unmanaged
    {
        var s = CheckShape(shape);
        long n = Shapes.NumElements(s);
        if (n != data.Length) throw new ArgumentException($"FromArray: {data.Length} values cannot fill a tensor of shape {Shapes.Format(s)} ({n} elements)");
        var result = Tensor.Empty(s, dtype);
        data.CopyTo(new Span<T>(result.DataPointer, data.Length));
        return result;
    }

    /// <summary>Copies the elements (row-major) into <paramref name="destination"/>; its element type must match <see cref="DType"/>.</summary>
    public unsafe void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        CheckElementType<T>();
        var c = Kernels.Contiguous(this);
        long n = NumElements;
        if (destination.Length < n) throw new ArgumentException($"The destination holds {destination.Length} elements; the tensor has {n} (shape {Shapes.Format(Shape)})");
        new ReadOnlySpan<T>(c.DataPointer, (int)n).CopyTo(destination);
    }

    /// <summary>A read-only span over the data of a contiguous tensor (no copy).</summary>
    public unsafe ReadOnlySpan<T> AsSpan<T>() where T : unmanaged
    {
        CheckElementType<T>();
        if (!IsContiguous) throw new InvalidOperationException($"AsSpan needs a contiguous tensor (shape {Shapes.Format(Shape)}, strides {Shapes.Format(Strides)}); call Contiguous() first");
        return new ReadOnlySpan<T>(DataPointer, checked((int)NumElements));
    }

    /// <summary>The elements in row-major order, as an array of <typeparamref name="T"/> (float, double or long, matching <see cref="DType"/>).</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        var result = new T[NumElements];
        CopyTo<T>(result);
        return result;
    }

    /// <summary>The elements in row-major order, converted to double.</summary>
    public unsafe double[] ToDoubleArray()
    {
        ThrowIfDisposed();
        var c = Kernels.Contiguous(this);
        var result = new double[NumElements];
        for (int i = 0; i < result.Length; i++)
            result[i] = DType switch { DType.Float32 => ((float*)c.DataPointer)[i], DType.Float64 => ((double*)c.DataPointer)[i], _ => ((long*)c.DataPointer)[i] };
        return result;
    }

    /// <summary>The value of a one-element tensor (PyTorch's <c>item()</c>).</summary>
    public unsafe double Item()
    {
        ThrowIfDisposed();
        if (NumElements != 1) throw new InvalidOperationException($"a Tensor with {NumElements} elements cannot be converted to Scalar (shape {Shapes.Format(Shape)})");
        ref byte first = ref Storage.ByteAt(Offset * DType.ElementSize()); // a managed reference: keeps the array alive while read
        return DType switch
        {
            DType.Float32 => Unsafe.ReadUnaligned<float>(ref first),
            DType.Float64 => Unsafe.ReadUnaligned<double>(ref first),
            _ => Unsafe.ReadUnaligned<long>(ref first),
        };
    }

    private void CheckElementType<T>() where T : unmanaged
    {
        ThrowIfDisposed();
        var expected = DType switch { DType.Float32 => typeof(float), DType.Float64 => typeof(double), _ => typeof(long) };
        if (typeof(T) != expected) throw new ArgumentException($"The tensor holds {DType.TorchName()}; read it as {expected.Name}, not {typeof(T).Name}");
    }
}
