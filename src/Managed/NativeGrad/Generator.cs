using System.Numerics;
namespace NativeGrad;

/// <summary>
/// A seedable random number generator for tensor creation (xoshiro256** with Box-Muller normals).
/// The same seed gives the same tensors on every backend and platform.
/// </summary>
public sealed class Generator
{
    private ulong _s0, _s1, _s2, _s3;
    private double? _spareNormal;
    private readonly object _lock = new();

    /// <summary>Creates a generator from a seed.</summary>
    public Generator(ulong seed = 0x853c49e6748fea9bUL) => ManualSeed(seed);

    /// <summary>The process-wide default generator used when none is passed.</summary>
    public static Generator Default { get; } = new((ulong)Environment.TickCount64 ^ 0x9E3779B97F4A7C15UL);

    /// <summary>Resets the generator to a seed (PyTorch's <c>manual_seed</c>).</summary>
    public Generator ManualSeed(ulong seed)
    {
        lock (_lock)
        {
            ulong z = seed;
            _s0 = SplitMix(ref z);
            _s1 = SplitMix(ref z);
            _s2 = SplitMix(ref z);
            _s3 = SplitMix(ref z);
            _spareNormal = null;
        }
        return this;
    }

    private static ulong SplitMix(ref ulong z)
    {
        ulong r = z += 0x9E3779B97F4A7C15UL;
        r = (r ^ (r >> 30)) * 0xBF58476D1CE4E5B9UL;
        r = (r ^ (r >> 27)) * 0x94D049BB133111EBUL;
        return r ^ (r >> 31);
    }

    private ulong Next()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform double in [0, 1).</summary>
    public double NextDouble()
    {
        lock (_lock) return (Next() >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>A standard normal double.</summary>
    public double NextNormal()
    {
        lock (_lock)
        {
            if (_spareNormal is { } spare)
            {
                _spareNormal = null;
                return spare;
            }
            double u1, u2;
            do u1 = (Next() >> 11) * (1.0 / (1UL << 53)); while (u1 <= double.Epsilon);
            u2 = (Next() >> 11) * (1.0 / (1UL << 53));
            double radius = Math.Sqrt(-2.0 * Math.Log(u1));
            _spareNormal = radius * Math.Sin(2.0 * Math.PI * u2);
            return radius * Math.Cos(2.0 * Math.PI * u2);
        }
    }

    internal void Fill(Span<double> values, bool normal)
    {
        for (int i = 0; i < values.Length; i++) values[i] = normal ? NextNormal() : NextDouble();
    }
}
