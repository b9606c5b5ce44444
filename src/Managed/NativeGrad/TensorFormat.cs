using System.Globalization;
using System.Text;

namespace NativeGrad;

// ToString as PyTorch prints tensors (torch/_tensor_str.py: precision 4, line width 80, summarised above
// 1000 elements with 3 edge items), including the dtype, grad_fn and requires_grad suffixes.
public sealed partial class Tensor
{
    private const int Precision = 4;
    private const int LineWidth = 80;
    private const int Threshold = 1000;
    private const int EdgeItems = 3;

    /// <summary>The tensor as PyTorch prints it, e.g. <c>tensor([1., 2.], requires_grad=True)</c>.</summary>
    public override string ToString()
    {
        if (IsDisposed) return "tensor(<disposed>)";
        const string prefix = "tensor(";
        int indent = prefix.Length;
        var suffixes = new List<string>();
        string body;
        var values = ToDoubleArray();
        if (values.Length == 0)
        {
            if (Dim != 1) suffixes.Add("size=(" + string.Join(", ", ShapeArray) + (Dim == 1 ? ",)" : ")"));
            if (DType != DType.Float32) suffixes.Add("dtype=" + DType.TorchName());
            body = "[]";
        }
        else
        {
            if (DType == DType.Float64) suffixes.Add("dtype=" + DType.TorchName());
            bool summarize = values.Length > Threshold;
            var formatter = new ElementFormatter(DType, summarize ? SummarizedValues(values) : values);
            body = Format(values, 0, 0, indent, summarize, formatter);
        }
        if (GradFnNode is not null) suffixes.Add($"grad_fn=<{GradFnNode.Name}>");
        else if (RequiresGrad) suffixes.Add("requires_grad=True");

        var sb = new StringBuilder(prefix).Append(body);
        int lastLineLength = sb.Length - (sb.ToString().LastIndexOf('\n') + 1) + 1;
        foreach (var suffix in suffixes)
        {
            if (lastLineLength + suffix.Length + 2 > LineWidth)
            {
                sb.Append(",\n").Append(' ', indent).Append(suffix);
                lastLineLength = indent + suffix.Length;
            }
            else
            {
                sb.Append(", ").Append(suffix);
                lastLineLength += suffix.Length + 2;
            }
        }
        return sb.Append(')').ToString();
    }

    /// <summary>Row-major element offset of each index along dim <paramref name="dim"/> starting at <paramref name="offset"/>.</summary>
    private string Format(double[] values, int dim, long offset, int indent, bool summarize, ElementFormatter formatter)
    {
        if (Dim == 0) return formatter.Format(values[0]);
        long size = ShapeArray[dim];
        long stride = 1;
        for (int i = dim + 1; i < Dim; i++) stride *= ShapeArray[i];
        var indices = new List<long?>();
        if (summarize && size > 2 * EdgeItems)
        {
            for (long i = 0; i < EdgeItems; i++) indices.Add(i);
            indices.Add(null);
            for (long i = size - EdgeItems; i < size; i++) indices.Add(i);
        }
        else
        {
            for (long i = 0; i < size; i++) indices.Add(i);
        }

        if (dim == Dim - 1)
        {
            int elementLength = formatter.Width + 2;
            int perLine = Math.Max(1, (int)Math.Floor((LineWidth - indent) / (double)elementLength));
            var items = indices.Select(i => i is null ? " ..." : formatter.Format(values[offset + i.Value])).ToList();
            var lines = new List<string>();
            for (int i = 0; i < items.Count; i += perLine) lines.Add(string.Join(", ", items.Skip(i).Take(perLine)));
            return "[" + string.Join(",\n" + new string(' ', indent + 1), lines) + "]";
        }
        var slices = indices.Select(i => i is null ? "..." : Format(values, dim + 1, offset + i.Value * stride, indent + 1, summarize, formatter));
        int remaining = Dim - dim;
        return "[" + string.Join("," + new string('\n', remaining - 1) + new string(' ', indent + 1), slices) + "]";
    }

    private double[] SummarizedValues(double[] values)
    {
        // The formatter only needs the values that will be shown: the edge items of every dim.
        var shown = new List<double>();
        void Walk(int dim, long offset)
        {
            if (Dim == 0) { shown.Add(values[0]); return; }
            long size = ShapeArray[dim];
            long stride = 1;
            for (int i = dim + 1; i < Dim; i++) stride *= ShapeArray[i];
            IEnumerable<long> idx = size > 2 * EdgeItems
                ? Enumerable.Range(0, EdgeItems).Select(i => (long)i).Concat(Enumerable.Range(0, EdgeItems).Select(i => size - EdgeItems + i))
                : Enumerable.Range(0, (int)size).Select(i => (long)i);
            foreach (long i in idx)
            {
                if (dim == Dim - 1) shown.Add(values[offset + i]);
                else Walk(dim + 1, offset + i * stride);
            }
        }
        Walk(0, 0);
        return [.. shown];
    }

    /// <summary>PyTorch's _Formatter: integer mode, fixed or scientific notation, and a common width.</summary>
    private sealed class ElementFormatter
    {
        private readonly bool _floating;
        private readonly bool _intMode = true;
        private readonly bool _sciMode;

        public int Width { get; } = 1;

        public ElementFormatter(DType dtype, double[] values)
        {
            _floating = dtype.IsFloatingPoint();
            if (!_floating)
            {
                foreach (var v in values) Width = Math.Max(Width, ((long)v).ToString(CultureInfo.InvariantCulture).Length);
                return;
            }
            var finite = values.Where(v => double.IsFinite(v) && v != 0).ToArray();
            if (finite.Length == 0) return;
            double min = finite.Min(Math.Abs), max = finite.Max(Math.Abs);
            _intMode = finite.All(v => v == Math.Ceiling(v));
            if (_intMode)
            {
                if (max / min > 1000.0 || max > 1.0e8)
                {
                    _sciMode = true;
                    foreach (var v in finite) Width = Math.Max(Width, Sci(v).Length);
                }
                else
                {
                    foreach (var v in finite) Width = Math.Max(Width, v.ToString("F0", CultureInfo.InvariantCulture).Length + 1);
                }
            }
            else if (max / min > 1000.0 || max > 1.0e8 || min < 1.0e-4)
            {
                _sciMode = true;
                foreach (var v in finite) Width = Math.Max(Width, Sci(v).Length);
            }
            else
            {
                foreach (var v in finite) Width = Math.Max(Width, v.ToString("F" + Precision, CultureInfo.InvariantCulture).Length);
            }
        }

        private static string Sci(double v)
        {
            // Python's "{:.4e}": mantissa with 4 decimals, exponent with sign and at least two digits.
            if (!double.IsFinite(v)) return Special(v);
            string s = v.ToString("0.0000e+00", CultureInfo.InvariantCulture);
            return s;
        }

        private static string Special(double v) => double.IsNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";

        public string Format(double value)
        {
            string text;
            if (!_floating) text = ((long)value).ToString(CultureInfo.InvariantCulture);
            else if (!double.IsFinite(value)) text = Special(value);
            else if (_sciMode) text = Sci(value);
            else if (_intMode) text = value.ToString("F0", CultureInfo.InvariantCulture) + ".";
            else text = value.ToString("F" + Precision, CultureInfo.InvariantCulture);
            if (_floating && value == 0 && double.IsNegative(value) && !text.StartsWith('-')) text = "-" + text;
            return text.PadLeft(Width);
        }
    }
}
