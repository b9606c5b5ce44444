using NativeGrad.Autograd;
using NativeGrad.Ops;

namespace NativeGrad;

// Matrix products. Every form reduces to the batched GEMM kernel, which reads transposed operands through their
// strides (no copies for the A^T G and G B^T of the backward pass).
public sealed partial class Tensor
{
    private static void CheckMatmulOperands(Tensor a, Tensor b, string op)
    {
        ArgumentNullException.ThrowIfNull(b);
        a.RequireFloat(op);
        b.RequireFloat(op);
    }

    private static ArgumentException CannotMultiply(Tensor a, Tensor b, string op) =>
        new($"{op}: shapes {Shapes.Format(a.Shape)} and {Shapes.Format(b.Shape)} cannot be multiplied");

    /// <summary>
    /// Matrix product with PyTorch's <c>matmul</c> semantics: dot (1-D·1-D), matrix-vector, vector-matrix,
    /// matrix-matrix, and batched products with broadcast batch dims.
    /// </summary>
    public Tensor MatMul(Tensor other)
    {
        CheckMatmulOperands(this, other, "matmul");
        int da = Dim, db = other.Dim;
        if (da == 0 || db == 0) throw new ArgumentException($"matmul: both arguments need at least 1 dimension, got shapes {Shapes.Format(Shape)} and {Shapes.Format(other.Shape)}");
        if (da == 1 && db == 1)
        {
            if (ShapeArray[0] != other.ShapeArray[0]) throw CannotMultiply(this, other, "matmul");
            return Dot(other);
        }
        if (da == 2 && db == 1)
        {
            if (ShapeArray[1] != other.ShapeArray[0]) throw CannotMultiply(this, other, "matmul");
            return Mv(other);
        }
        if (da == 1 && db == 2)
        {
            if (ShapeArray[0] != other.ShapeArray[0]) throw CannotMultiply(this, other, "matmul");
            return VecMat(other);
        }
        if (da == 2 && db == 2)
        {
            if (ShapeArray[1] != other.ShapeArray[0]) throw CannotMultiply(this, other, "matmul");
            return Mm(other);
        }

        // Batched: a 1-D operand becomes a matrix and its added dim is removed from the result.
        if (db == 1)
        {
            if (ShapeArray[^1] != other.ShapeArray[0]) throw CannotMultiply(this, other, "matmul");
            return MatMul(other.Unsqueeze(1)).Squeeze(-1);
        }
        if (da == 1)
        {
            if (ShapeArray[0] != other.ShapeArray[^2]) throw CannotMultiply(this, other, "matmul");
            return Unsqueeze(0).MatMul(other).Squeeze(-2);
        }
        long n = ShapeArray[^2], k = ShapeArray[^1], k2 = other.ShapeArray[^2], m = other.ShapeArray[^1];
        if (k != k2) throw CannotMultiply(this, other, "matmul");
        if (db == 2)
        {
            // [..., n, k] @ [k, m]: fold the batch into the rows of one GEMM.
            var folded = Reshape(-1, k).Mm(other);
            var shape = (long[])ShapeArray.Clone();
            shape[^1] = m;
            return folded.Reshape(shape);
        }
        long[] batchA = ShapeArray[..^2], batchB = other.ShapeArray[..^2];
        long[] batch;
        try { batch = Shapes.Broadcast(batchA, batchB, "matmul"); }
        catch (ArgumentException) { throw CannotMultiply(this, other, "matmul"); }
        long batchCount = Shapes.NumElements(batch);
        var a3 = Expand([.. batch, n, k]).Reshape(batchCount, n, k);
        var b3 = other.Expand([.. batch, k, m]).Reshape(batchCount, k, m);
        return a3.Bmm(b3).Reshape([.. batch, n, m]);
    }

    /// <summary>The product of two matrices [n, k] x [k, m].</summary>
    public Tensor Mm(Tensor other)
    {
        CheckMatmulOperands(this, other, "mm");
        if (Dim != 2 || other.Dim != 2 || ShapeArray[1] != other.ShapeArray[0]) throw CannotMultiply(this, other, "mm");
        var result = MatrixProduct(this, other);
        if (!Graph.IsRecording(this, other)) return result;
        return Graph.Record("MmBackward0", result, [this, other], [this, other], (c, g) =>
            [c.NeedsInputGrad(0) ? g.Mm(c.Saved(1).T) : null, c.NeedsInputGrad(1) ? c.Saved(0).T.Mm(g) : null]);
    }

    /// <summary>Vector-matrix product [k] x [k, m], one GEMM row and one node (PyTorch records it as a squeezed mm).</summary>
    private Tensor VecMat(Tensor matrix)
    {
        long k = ShapeArray[0], m = matrix.ShapeArray[1];
        var (a, b) = PromotePair(this, matrix);
        var result = Kernels.Gemm2D(a, 1, k, 0, a.StridesArray[0], b, m, b.StridesArray[0], b.StridesArray[1], [m]);
        if (!Graph.IsRecording(this, matrix)) return result;
        return Graph.Record("SqueezeBackward4", result, [this, matrix], [this, matrix], static (c, g) =>
            [c.NeedsInputGrad(0) ? c.Saved(1).Mv(g) : null, c.NeedsInputGrad(1) ? Outer(c.Saved(0), g) : null]);
    }

    /// <summary>
    /// The outer product u v^T of two vectors (a weight gradient): one GEMM with k = 1 when no graph is being recorded,
    /// the differentiable broadcast product otherwise.
    /// </summary>
    private static Tensor Outer(Tensor u, Tensor v)
    {
        if (GradMode.IsEnabled && (u.RequiresGrad || v.RequiresGrad)) return u.Unsqueeze(1) * v.Unsqueeze(0);
        var (a, b) = PromotePair(u, v);
        long n = a.ShapeArray[0], m = b.ShapeArray[0];
        return Kernels.Gemm2D(a, n, 1, a.StridesArray[0], 0, b, m, 0, b.StridesArray[0], [n, m]);
    }

    /// <summary>Matrix-vector product [n, k] x [k].</summary>
    public Tensor Mv(Tensor vector)
    {
        CheckMatmulOperands(this, vector, "mv");
        if (Dim != 2 || vector.Dim != 1 || ShapeArray[1] != vector.ShapeArray[0]) throw CannotMultiply(this, vector, "mv");
        var (a, b) = PromotePair(this, vector);
        var result = Kernels.Gemm2D(a, ShapeArray[0], ShapeArray[1], a.StridesArray[0], a.StridesArray[1], b, 1, b.StridesArray[0], 0, [ShapeArray[0]]);
        if (!Graph.IsRecording(this, vector)) return result;
        return Graph.Record("MvBackward0", result, [this, vector], [this, vector], (c, g) =>
            [c.NeedsInputGrad(0) ? g.Unsqueeze(1) * c.Saved(1).Unsqueeze(0) : null, c.NeedsInputGrad(1) ? c.Saved(0).T.Mv(g) : null]);
    }

    /// <summary>The inner product of two vectors.</summary>
    public Tensor Dot(Tensor other)
    {
        CheckMatmulOperands(this, other, "dot");
        if (Dim != 1 || other.Dim != 1 || ShapeArray[0] != other.ShapeArray[0]) throw CannotMultiply(this, other, "dot");
        long k = ShapeArray[0];
        var (a, b) = PromotePair(this, other);
        var result = Kernels.Gemm2D(a, 1, k, 0, a.StridesArray[0], b, 1, b.StridesArray[0], 0, []);
        if (!Graph.IsRecording(this, other)) return result;
        return Graph.Record("DotBackward0", result, [this, other], [this, other], (c, g) =>
            [c.NeedsInputGrad(0) ? g * c.Saved(1) : null, c.NeedsInputGrad(1) ? g * c.Saved(0) : null]);
    }

    /// <summary>Batched matrix product [b, n, k] x [b, k, m].</summary>
    public Tensor Bmm(Tensor other)
    {
        CheckMatmulOperands(this, other, "bmm");
        if (Dim != 3 || other.Dim != 3 || ShapeArray[0] != other.ShapeArray[0] || ShapeArray[2] != other.ShapeArray[1])
            throw CannotMultiply(this, other, "bmm");
        var (a, b) = PromotePair(this, other);
        var result = Kernels.Bmm(a, b, ShapeArray[0]);
        if (!Graph.IsRecording(this, other)) return result;
        return Graph.Record("BmmBackward0", result, [this, other], [this, other], (c, g) =>
            [c.NeedsInputGrad(0) ? g.Bmm(c.Saved(1).Transpose(1, 2)) : null, c.NeedsInputGrad(1) ? c.Saved(0).Transpose(1, 2).Bmm(g) : null]);
    }

    private static Tensor MatrixProduct(Tensor a, Tensor b)
    {
        (a, b) = PromotePair(a, b);
        return Kernels.Gemm2D(a, a.ShapeArray[0], a.ShapeArray[1], a.StridesArray[0], a.StridesArray[1],
                              b, b.ShapeArray[1], b.StridesArray[0], b.StridesArray[1], [a.ShapeArray[0], b.ShapeArray[1]]);
    }

    private static (Tensor, Tensor) PromotePair(Tensor a, Tensor b)
    {
        if (a.DType == b.DType) return (a, b);
        var common = DTypeExtensions.Promote(a.DType, b.DType);
        return (Kernels.Cast(a, common), Kernels.Cast(b, common));
    }
}
