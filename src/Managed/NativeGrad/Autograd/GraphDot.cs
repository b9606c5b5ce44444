using System.Diagnostics;
using System.Text;

namespace NativeGrad.Autograd;

/// <summary>
/// Writes a backward graph as Graphviz DOT, in torchviz's style: the output tensor (shape) at the bottom, one gray
/// box per node named as PyTorch names it, leaves (AccumulateGrad) in blue with their shapes, and optionally each
/// node's saved tensors.
/// </summary>
public static class GraphDot
{
    /// <summary>The DOT text for the graph that produced <paramref name="tensor"/>.</summary>
    public static string Write(Tensor tensor, bool showSavedTensors = false)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return Write(tensor.GradientEdge().Node, Shapes.Format(tensor.Shape), showSavedTensors);
    }

    /// <summary>The DOT text for the graph below <paramref name="node"/> (a tensor's <c>GradFn</c>).</summary>
    public static string Write(BackwardNode node, bool showSavedTensors = false)
    {
        ArgumentNullException.ThrowIfNull(node);
        return Write(node, node.Name, showSavedTensors);
    }

    private static string Write(BackwardNode? root, string outputLabel, bool showSavedTensors)
    {
        var sb = new StringBuilder();
        sb.AppendLine("digraph {");
        sb.AppendLine("  graph [rankdir=BT];");
        sb.AppendLine("  node [shape=box, style=filled, fontname=\"Helvetica\", fontsize=11, fillcolor=lightgray];");
        sb.AppendLine($"  output [label=\"{outputLabel}\", fillcolor=darkolivegreen1];");
        if (root is null)
        {
            sb.AppendLine("}");
            return sb.ToString();
        }
        var ids = new Dictionary<BackwardNode, string>(ReferenceEqualityComparer.Instance);
        string Id(BackwardNode n) => ids.TryGetValue(n, out var id) ? id : ids[n] = $"n{ids.Count}";
        var stack = new Stack<BackwardNode>();
        stack.Push(root);
        Id(root);
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            string id = Id(node);
            if (node is AccumulateGrad leaf)
            {
                var v = leaf.Variable;
                sb.AppendLine($"  {id} [label=\"AccumulateGrad\\n{(v is null ? "(collected)" : Shapes.Format(v.Shape))}\", fillcolor=lightblue];");
            }
            else
            {
                sb.AppendLine($"  {id} [label=\"{node.Name}\"];");
                if (showSavedTensors)
                {
                    int k = 0;
                    foreach (var saved in node.DescribeSavedTensors())
                    {
                        sb.AppendLine($"  {id}_s{k} [label=\"saved {k}\\n{saved}\", fillcolor=orange, shape=note];");
                        sb.AppendLine($"  {id}_s{k} -> {id} [style=dotted];");
                        k++;
                    }
                }
            }
            foreach (var edge in node.NextFunctions)
            {
                if (edge.Node is not { } next) continue;
                bool seen = ids.ContainsKey(next);
                sb.AppendLine($"  {Id(next)} -> {id};");
                if (!seen) stack.Push(next);
            }
        }
        sb.AppendLine($"  {Id(root)} -> output;");
        sb.AppendLine("}");
        return sb.ToString();
    }

    /// <summary>Renders the graph with Graphviz <c>dot</c>; the format comes from the file extension.</summary>
    public static void Render(Tensor tensor, string path, bool showSavedTensors = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string dotText = Write(tensor, showSavedTensors);
        string format = Path.GetExtension(path).TrimStart('.').ToLowerInvariant();
        if (format == "dot" || format == "gv")
        {
            File.WriteAllText(path, dotText);
            return;
        }
        if (format is not ("svg" or "png" or "pdf"))
            throw new ArgumentException($"Visualize: unsupported format '.{format}' (use .svg, .png, .pdf or .dot)", nameof(path));
        var start = new ProcessStartInfo("dot", $"-T{format} -o \"{path}\"")
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("dot did not start");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException(
                "Graphviz 'dot' was not found on PATH, so the graph cannot be rendered. Install Graphviz (e.g. apt-get install graphviz) " +
                "or write the DOT text with Autograd.ToDot(tensor) / a .dot path.");
        }
        using (process)
        {
            process.StandardInput.Write(dotText);
            process.StandardInput.Close();
            string errors = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0) throw new InvalidOperationException($"Graphviz dot failed ({process.ExitCode}): {errors}");
        }
    }
}
