using System.Collections;

namespace NativeGrad.NN;

/// <summary>
/// Modules applied one after the other, PyTorch's <c>nn.Sequential</c>; the children are named "0", "1", …, so
/// parameters are "0.weight", "0.bias", "2.weight", ….
/// </summary>
/// <example>
/// <code>
/// var mlp = new Sequential(new Linear(784, 256), new ReLU(), new Linear(256, 10));
/// var logits = mlp.Call(x);
/// </code>
/// </example>
public sealed class Sequential : Module, IReadOnlyList<Module>
{
    private readonly List<Module> _modules = [];

    /// <summary>Creates the sequence.</summary>
    /// <param name="modules">The modules, in the order they run.</param>
    public Sequential(params Module[] modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var m in modules) Append(m);
    }

    /// <summary>Adds <paramref name="module"/> at the end (named by its index) and returns this sequence.</summary>
    /// <param name="module">The module to run last.</param>
    public Sequential Append(Module module)
    {
        _modules.Add(RegisterModule(_modules.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module));
        return this;
    }

    /// <summary>The number of modules.</summary>
    public int Count => _modules.Count;

    /// <summary>The module at <paramref name="index"/> (negative counts from the end).</summary>
    /// <param name="index">The position.</param>
    public Module this[int index] => _modules[index < 0 ? _modules.Count + index : index];

    /// <summary>Runs every module in order, each on the previous one's output.</summary>
    /// <param name="input">The first module's input.</param>
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var m in _modules) x = m.Call(x);
        return x;
    }

    /// <summary>Enumerates the modules in order.</summary>
    public IEnumerator<Module> GetEnumerator() => _modules.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
