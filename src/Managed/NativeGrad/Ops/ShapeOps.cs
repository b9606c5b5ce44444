using NativeGrad.Autograd;
using NativeGrad.Ops;

namespace NativeGrad.Ops
{
    /// <summary>Shape bookkeeping for views (no data is touched).</summary>
    internal static class ShapeOps
    {
        /// <summary>True when a tensor of <paramref name="shape"/> can be broadcast to <paramref name="desired"/>.</summary>
        public static bool IsExpandableTo(ReadOnlySpan<long> shape, ReadOnlySpan<long> desired)
        {
            if (shape.Length > desired.Length) return false;
            for (int i = 0; i < shape.Length; i++)
            {
                long s = shape[shape.Length - 1 - i], d = desired[desired.Length - 1 - i];
                if (s != d && s != 1) return false;
            }
            return true;
        }

        /// <summary>The strides a contiguous-compatible view of <paramref name="t"/> needs for <paramref name="shape"/>, or null if it cannot be a view.</summary>
        public static long[]? ViewStrides(Tensor t, long[] shape)
        {
            if (t.IsContiguous) return Shapes.ContiguousStrides(shape);
            return null;
        }
    }

    /// <summary>Views without graph recording (internal building blocks).</summary>
    internal static class Views
    {
        public static Tensor View(Tensor t, long[] shape, long[] strides, long offset)
        {
            t.ThrowIfDisposed();
            Shapes.NumElements(shape); // no negative sizes, and the element count fits a long (expand could ask for more)
            return Tensor.View(t, shape, strides, offset);
        }

        public static Tensor PermuteView(Tensor t, ReadOnlySpan<int> perm)
        {
            Span<long> shape = perm.Length <= 16 ? stackalloc long[perm.Length] : new long[perm.Length];
            Span<long> strides = perm.Length <= 16 ? stackalloc long[perm.Length] : new long[perm.Length];
            for (int i = 0; i < perm.Length; i++)
            {
                shape[i] = t.ShapeArray[perm[i]];
                strides[i] = t.StridesArray[perm[i]];
            }
            return View(t, Shapes.Intern(shape), Shapes.Intern(strides), t.Offset);
        }
    }
}

namespace NativeGrad
{
    // Shape ops: views share storage with their base (as in PyTorch); their gradients are the inverse view.
    public sealed partial class Tensor
    {
        private long[] InferShape(long[] shape, string op)
        {
            var result = (long[])shape.Clone();
            int infer = -1;
            long known = 1;
            for (int i = 0; i < result.Length; i++)
            {
                if (result[i] == -1)
                {
                    if (infer >= 0) throw new ArgumentException($"{op}: only one dimension can be inferred (shape {Shapes.Format(shape)})");
                    infer = i;
                }
                else if (result[i] < 0) throw new ArgumentException($"{op}: invalid shape dimension {result[i]} in {Shapes.Format(shape)}");
                else known *= result[i];
            }
            long n = NumElements;
            if (infer >= 0)
            {
                if (known == 0 || n % known != 0)
                    throw new ArgumentException($"{op}: shape '{Shapes.Format(shape)}' is invalid for input of size {n} (input shape {Shapes.Format(Shape)})");
                result[infer] = n / known;
            }
            else if (known != n)
            {
                throw new ArgumentException($"{op}: shape '{Shapes.Format(shape)}' is invalid for input of size {n} (input shape {Shapes.Format(Shape)})");
            }
            return result;
        }

        /// <summary>The same data with a new shape (one dim may be -1): a view when possible, else a copy.</summary>
        public Tensor Reshape(params long[] shape)
        {
            ThrowIfDisposed();
            var newShape = InferShape(shape, "reshape");
            var strides = ShapeOps.ViewStrides(this, newShape);
            Tensor result = strides is not null ? Views.View(this, newShape, strides, Offset) : Views.View(Kernels.ContiguousCopy(this), newShape, Shapes.ContiguousStrides(newShape), 0);
            if (!Graph.IsRecording(this)) return result;
            return Graph.Record(strides is not null ? "ViewBackward0" : "UnsafeViewBackward0", result, [this], [], static (c, g) => [g.Reshape(c.InputShape(0))]);
        }

        /// <summary>A view with a new shape; throws when the layout does not allow one (PyTorch's <c>view</c>).</summary>
        public Tensor View(params long[] shape)
        {
            ThrowIfDisposed();
            if (!IsContiguous) throw new InvalidOperationException($"view size is not compatible with input tensor's size and stride (shape {Shapes.Format(Shape)}); use Reshape instead.");
            return Reshape(shape);
        }

        /// <summary>Flattens dims <paramref name="startDim"/> through <paramref name="endDim"/> into one.</summary>
        public Tensor Flatten(long startDim = 0, long endDim = -1)
        {
            ThrowIfDisposed();
            if (Dim == 0) return Reshape(1);
            int s = Shapes.WrapDim(startDim, Dim, "flatten"), e = Shapes.WrapDim(endDim, Dim, "flatten");
            if (s > e) throw new ArgumentException($"flatten: start_dim ({startDim}) cannot come after end_dim ({endDim})");
            var shape = new List<long>();
            for (int i = 0; i < s; i++) shape.Add(ShapeArray[i]);
            long merged = 1;
            for (int i = s; i <= e; i++) merged *= ShapeArray[i];
            shape.Add(merged);
            for (int i = e + 1; i < Dim; i++) shape.Add(ShapeArray[i]);
            return Reshape([.. shape]);
        }

        /// <summary>Swaps two dims (a view).</summary>
        public Tensor Transpose(long dim0, long dim1)
        {
            ThrowIfDisposed();
            int a = Shapes.WrapDim(dim0, Dim, "transpose"), b = Shapes.WrapDim(dim1, Dim, "transpose");
            Span<int> perm = Dim <= 16 ? stackalloc int[Dim] : new int[Dim];
            for (int i = 0; i < perm.Length; i++) perm[i] = i;
            if (Dim > 0) (perm[a], perm[b]) = (perm[b], perm[a]);
            var result = Views.PermuteView(this, perm);
            if (!Graph.IsRecording(this)) return result;
            return Graph.Record("TransposeBackward0", result, [this], [], a * 65536 + b, static (c, g) => [g.Transpose((int)c.Scalar >> 16, (int)c.Scalar & 0xFFFF)]);
        }

        /// <summary>The transpose of a matrix (dims 0 and 1 of a 2-D tensor; a 0-D or 1-D tensor is returned as is).</summary>
        public Tensor T => Dim >= 2 ? Transpose(0, 1) : !IsDisposed ? this : throw new ObjectDisposedException(nameof(Tensor), "This tensor was disposed.");

        /// <summary>Reorders the dims (a view).</summary>
        public Tensor Permute(params long[] dims)
        {
            ThrowIfDisposed();
            if (dims.Length != Dim)
                throw new ArgumentException($"permute: number of dims don't match in permute (got {dims.Length} dims for a tensor of shape {Shapes.Format(Shape)})");
            var perm = new int[Dim];
            var seen = new bool[Dim];
            for (int i = 0; i < dims.Length; i++)
            {
                perm[i] = Shapes.WrapDim(dims[i], Dim, "permute");
                if (seen[perm[i]]) throw new ArgumentException($"permute: repeated dim {dims[i]} in {Shapes.Format(dims)}");
                seen[perm[i]] = true;
            }
            var result = Views.PermuteView(this, perm);
            if (!Graph.IsRecording(this)) return result;
            var inverse = new long[Dim];
            for (int i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
            return Graph.Record("PermuteBackward0", result, [this], [], (c, g) => [g.Permute(inverse)]);
        }

        /// <summary>Inserts a dim of size 1 at <paramref name="dim"/> (a view).</summary>
        public Tensor Unsqueeze(long dim)
        {
            ThrowIfDisposed();
            int d = Shapes.WrapDim(dim, Dim + 1, "unsqueeze");
            var shape = new long[Dim + 1];
            var strides = new long[Dim + 1];
            for (int i = 0, j = 0; i <= Dim; i++)
            {
                if (i == d) { shape[i] = 1; strides[i] = d < Dim ? StridesArray[d] * ShapeArray[d] : 1; continue; }
                shape[i] = ShapeArray[j];
                strides[i] = StridesArray[j++];
            }
            var result = Views.View(this, shape, strides, Offset);
            if (!Graph.IsRecording(this)) return result;
            return Graph.Record("UnsqueezeBackward0", result, [this], [], d, static (c, g) => [g.Squeeze((long)c.Scalar)]);
        }

        /// <summary>Removes every dim of size 1 (a view).</summary>
        public Tensor Squeeze()
        {
            ThrowIfDisposed();
            var dims = new List<long>();
            for (int i = 0; i < Dim; i++) if (ShapeArray[i] == 1) dims.Add(i);
            return SqueezeCore([.. dims], "SqueezeBackward0");
        }

        /// <summary>Removes dim <paramref name="dim"/> if its size is 1 (a view).</summary>
        public Tensor Squeeze(long dim) => SqueezeCore([Dim == 0 ? 0 : Shapes.WrapDim(dim, Dim, "squeeze")], "SqueezeBackward1");

        private Tensor SqueezeCore(long[] dims, string name)
        {
            ThrowIfDisposed();
            var shape = new List<long>();
            var strides = new List<long>();
            for (int i = 0; i < Dim; i++)
            {
                if (ShapeArray[i] == 1 && Array.IndexOf(dims, (long)i) >= 0) continue;
                shape.Add(ShapeArray[i]);
                strides.Add(StridesArray[i]);
            }
            var result = Views.View(this, [.. shape], [.. strides], Offset);
            if (!Graph.IsRecording(this)) return result;
            return Graph.Record(name, result, [this], [], static (c, g) => [g.Reshape(c.InputShape(0))]);
        }

        /// <summary>Broadcasts to <paramref name="sizes"/> without copying (-1 keeps a dim), PyTorch's <c>expand</c>.</summary>
        public Tensor Expand(params long[] sizes)
        {
            ThrowIfDisposed();
            if (sizes.Length < Dim)
                throw new ArgumentException($"expand: the number of sizes provided ({sizes.Length}) must be greater or equal to the number of dimensions in the tensor ({Dim}); shape {Shapes.Format(Shape)}");
            var shape = new long[sizes.Length];
            var strides = new long[sizes.Length];
            int offset = sizes.Length - Dim;
            for (int i = sizes.Length - 1; i >= 0; i--)
            {
                int j = i - offset;
                long size = sizes[i];
                if (j >= 0)
                {
                    long own = ShapeArray[j];
                    if (size == -1) size = own;
                    if (own != size && own != 1)
                        throw new ArgumentException($"expand: the expanded size of the tensor ({size}) must match the existing size ({own}) at non-singleton dimension {i}. Target sizes: {Shapes.Format(sizes)}. Tensor sizes: {Shapes.Format(Shape)}");
                    shape[i] = size;
                    strides[i] = own == 1 && size != 1 ? 0 : StridesArray[j];
                }
                else
                {
                    if (size < 0) throw new ArgumentException($"expand: the expanded size ({size}) isn't allowed in a leading, non-existing dimension {i}");
                    shape[i] = size;
                    strides[i] = 0;
                }
            }
            if (Shapes.SameShape(shape, ShapeArray) && !Graph.IsRecording(this)) return this;
            var result = Views.View(this, shape, strides, Offset);
            if (!Graph.IsRecording(this)) return result;
            return Graph.Record("ExpandBackward0", result, [this], [], static (c, g) => [g.SumToShape(c.InputShape(0))]);
        }

        /// <summary>Sums a broadcast gradient back to <paramref name="shape"/> (PyTorch's <c>sum_to_size</c>), differentiably.</summary>
        public Tensor SumToShape(long[] shape)
        {
            ThrowIfDisposed();
            if (Shapes.SameShape(Shape, shape)) return this;
            int lead = Dim - shape.Length;
            Span<int> dims = Dim <= 64 ? stackalloc int[Dim] : new int[Dim];
            int count = 0;
            for (int i = 0; i < Dim; i++)
            {
                if (i < lead || (shape[i - lead] == 1 && ShapeArray[i] != 1)) dims[count++] = i;
            }
            if (!Graph.IsRecording(this) && count > 0 && DType.IsFloatingPoint())
                return Kernels.ReduceTo(this, Backends.ReduceOp.Sum, dims[..count], Shapes.Intern(shape)); // laid out in the target shape at once
            long[] keep = new long[count];
            for (int i = 0; i < count; i++) keep[i] = dims[i];
            var summed = count == 0 ? this : Sum(keep, keepDim: true);
            return Shapes.SameShape(summed.Shape, shape) ? summed : summed.Reshape(shape);
        }

        /// <summary>The slice [start, start + length) of dim <paramref name="dim"/> (a view).</summary>
        public Tensor Narrow(long dim, long start, long length)
        {
            ThrowIfDisposed();
            if (Dim == 0) throw new ArgumentException("narrow() cannot be applied to a 0-dim tensor.");
            int d = Shapes.WrapDim(dim, Dim, "narrow");
            long size = ShapeArray[d];
            if (start < 0) start += size;
            if (start < 0 || start > size || length < 0 || start + length > size)
                throw new ArgumentOutOfRangeException(nameof(start), $"narrow: start ({start}) + length ({length}) exceeds dimension size ({size}) of shape {Shapes.Format(Shape)}");
            var shape = (long[])ShapeArray.Clone();
            shape[d] = length;
            var result = Views.View(this, shape, StridesArray, Offset + start * StridesArray[d]);
            if (!Graph.IsRecording(this)) return result;
            var inputShape = ShapeArray;
            long begin = start;
            return Graph.Record("SliceBackward0", result, [this], [], (c, g) => [g.NarrowScatter(inputShape, d, begin)]);
        }

        /// <summary>zeros(<paramref name="shape"/>) with this tensor written at [start, start+len) of <paramref name="dim"/>; the adjoint of Narrow.</summary>
        internal Tensor NarrowScatter(long[] shape, int dim, long start)
        {
            var result = Kernels.Full(shape, DType, 0);
            using (Autograd.GradMode.NoGrad())
            {
                var window = Views.View(result, ShapeArray, result.StridesArray, start * result.StridesArray[dim]);
                Kernels.CopyInto(this, window);
            }
            if (!Graph.IsRecording(this)) return result;
            long length = ShapeArray[dim];
            return Graph.Record("SliceBackwardBackward0", result, [this], [], (c, g) => [g.Narrow(dim, start, length)]);
        }

        /// <summary>The sub-tensor at <paramref name="index"/> along <paramref name="dim"/>, without that dim (a view).</summary>
        public Tensor Select(long dim, long index)
        {
            ThrowIfDisposed();
            if (Dim == 0) throw new ArgumentException("select() cannot be applied to a 0-dim tensor.");
            int d = Shapes.WrapDim(dim, Dim, "select");
            long size = ShapeArray[d];
            if (index < -size || index >= size)
                throw new IndexOutOfRangeException($"select(): index {index} out of range for tensor of size {Shapes.Format(Shape)} at dimension {d}");
            if (index < 0) index += size;
            var shape = new long[Dim - 1];
            var strides = new long[Dim - 1];
            for (int i = 0, j = 0; i < Dim; i++)
            {
                if (i == d) continue;
                shape[j] = ShapeArray[i];
                strides[j++] = StridesArray[i];
            }
            var result = Views.View(this, shape, strides, Offset + index * StridesArray[d]);
            if (!Graph.IsRecording(this)) return result;
            var inputShape = ShapeArray;
            long at = index;
            return Graph.Record("SelectBackward0", result, [this], [], (c, g) => [g.Unsqueeze(d).NarrowScatter(inputShape, d, at)]);
        }

        /// <summary>Reads element(s): <c>t[i]</c> selects along dim 0, <c>t[i, j]</c> along dims 0 and 1, …</summary>
        [System.Runtime.CompilerServices.IndexerName("At")]
        public Tensor this[params long[] indices]
        {
            get
            {
                ThrowIfDisposed(); // t[] is t itself: a disposed t must still refuse
                if (indices.Length > Dim) throw new IndexOutOfRangeException($"too many indices for tensor of dimension {Dim}");
                var t = this;
                foreach (long i in indices) t = t.Select(0, i);
                return t;
            }
        }

        /// <summary>A contiguous tensor with the same values (this tensor when already contiguous).</summary>
        public Tensor Contiguous()
        {
            ThrowIfDisposed();
            if (IsContiguous) return this;
            return Clone();
        }

        /// <summary>A copy with its own storage; gradients flow through it.</summary>
        public Tensor Clone()
        {
            ThrowIfDisposed();
            var result = Kernels.ContiguousCopy(this);
            if (!Graph.IsRecording(this)) return result;
            return Graph.Record("CloneBackward0", result, [this], [], (c, g) => [g]);
        }

        /// <summary>Converts to another element type (a copy unless the type is the same).</summary>
        public Tensor To(DType dtype)
        {
            ThrowIfDisposed();
            if (dtype == DType) return this;
            var result = Kernels.Cast(this, dtype);
            if (!Graph.IsRecording(this) || !dtype.IsFloatingPoint()) return result;
            var from = DType;
            return Graph.Record("ToCopyBackward0", result, [this], [], (c, g) => [g.To(from)]);
        }
    }
}
