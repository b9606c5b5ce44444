// Soak benchmark: trains a small MLP for many steps and reports resident memory over time, to show that memory
// stays flat (issue 7: peak RSS drift < 5% over 1,000,000 steps). Not a unit test and not run by CI:
//
//   dotnet run --project bench/NativeGrad.Soak -c Release -- [--steps 1000000] [--backend native|managed]
//                                                             [--mode scope|dispose|gc] [--report 50000]
//
// Modes: `scope` opens a Tensor.Scope per step (the recommended pattern); `dispose` disposes the step's visible
// tensors by hand and leaves the temporaries to the GC; `gc` disposes nothing at all, so every buffer is reclaimed
// by the GC (the pool must still not grow). The model: 64 -> 128 -> 10 with ReLU, cross-entropy, plain SGD under
// NoGrad, batches of 32 from a fixed synthetic data set (labels from a random linear teacher).
// Drift is measured from the RSS after the warm-up (the first 5% of the steps) to the peak RSS after it.
using System.Diagnostics;
using System.Globalization;
using NativeGrad;
using NativeGrad.NN;

long steps = 1_000_000, report = 0;
string backend = "native", mode = "scope";
for (int i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--steps": steps = long.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--backend": backend = args[i + 1]; break;
        case "--mode": mode = args[i + 1]; break;
        case "--report": report = long.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}
if (report <= 0) report = Math.Max(1, steps / 20);
Runtime.Backend = backend == "managed" ? BackendKind.Managed : BackendKind.Native;

const int Inputs = 64, Hidden = 128, Classes = 10, Batch = 32, DataSize = 4096;
var gen = new Generator(2024);
var data = Tensor.Randn([DataSize, Inputs], DType.Float32, gen);
var teacher = Tensor.Randn([Classes, Inputs], DType.Float32, gen);
var labels = Functional.Linear(data, teacher).ToArray<float>()
    .Chunk(Classes).Select(row => (long)Array.IndexOf(row, row.Max())).ToArray();
var targets = Tensor.FromArray(labels);
var w1 = (Tensor.Randn([Hidden, Inputs], DType.Float32, gen) * (1 / Math.Sqrt(Inputs))).Detach().RequiresGrad_();
var b1 = Tensor.Zeros([Hidden], DType.Float32, requiresGrad: true);
var w2 = (Tensor.Randn([Classes, Hidden], DType.Float32, gen) * (1 / Math.Sqrt(Hidden))).Detach().RequiresGrad_();
var b2 = Tensor.Zeros([Classes], DType.Float32, requiresGrad: true);
Tensor[] parameters = [w1, b1, w2, b2];
const double LearningRate = 0.05;

Console.WriteLine($"soak: {steps:N0} steps, backend {Runtime.Backend} ({Runtime.Kernels}), mode {mode}, " +
                  $"MLP {Inputs}-{Hidden}-{Classes}, batch {Batch}");
Console.WriteLine($"{"step",10} {"loss",8} {"RSS MiB",9} {"GC heap MiB",12} {"live KiB",9} {"pooled KiB",11} {"steps/s",9}");

long warmup = Math.Max(1, steps / 20);
long rssAfterWarmup = 0, peakAfterWarmup = 0, peak = 0;
var watch = Stopwatch.StartNew();
double lastTime = 0;
long lastStep = 0;
double loss = double.NaN;
for (long step = 1; step <= steps; step++)
{
    long start = (step * Batch) % (DataSize - Batch);
    if (mode == "scope")
    {
        using var scope = Tensor.Scope();
        loss = TrainStep(start);
    }
    else
    {
        loss = TrainStep(start);
    }

    if (step % 1000 == 0 || step == steps)
    {
        long rss = Environment.WorkingSet;
        peak = Math.Max(peak, rss);
        if (step >= warmup)
        {
            if (rssAfterWarmup == 0) rssAfterWarmup = rss;
            peakAfterWarmup = Math.Max(peakAfterWarmup, rss);
        }
    }
    if (step % report == 0 || step == steps)
    {
        double now = watch.Elapsed.TotalSeconds;
        Console.WriteLine($"{step,10:N0} {loss,8:F4} {Environment.WorkingSet / 1048576.0,9:F1} " +
                          $"{GC.GetTotalMemory(false) / 1048576.0,12:F1} {Diagnostics.LiveBytes / 1024.0,9:F0} " +
                          $"{Diagnostics.PooledBytes / 1024.0,11:F0} {(step - lastStep) / (now - lastTime),9:F0}");
        lastTime = now;
        lastStep = step;
    }
}
double drift = 100.0 * (peakAfterWarmup - rssAfterWarmup) / rssAfterWarmup;
Console.WriteLine($"done in {watch.Elapsed.TotalSeconds:F0} s; RSS after warm-up ({warmup:N0} steps) {rssAfterWarmup / 1048576.0:F1} MiB, " +
                  $"peak after warm-up {peakAfterWarmup / 1048576.0:F1} MiB, peak overall {peak / 1048576.0:F1} MiB; drift {drift:F2}% " +
                  $"({(drift < 5 ? "< 5%: flat" : ">= 5%: NOT flat")})");
return drift < 5 ? 0 : 1;

double TrainStep(long start)
{
    var x = data.Narrow(0, start, Batch);
    var y = targets.Narrow(0, start, Batch);
    var hidden = Functional.Linear(x, w1, b1).Relu();
    var logits = Functional.Linear(hidden, w2, b2);
    var lossTensor = Functional.CrossEntropy(logits, y);
    lossTensor.Backward();
    double value = lossTensor.Item();
    using (NativeGrad.Autograd.Autograd.NoGrad())
    {
        foreach (var p in parameters)
        {
            var g = p.Grad!;
            p.SubInPlace(g, alpha: LearningRate);
            p.ZeroGrad();
            if (mode == "dispose") g.Dispose();
        }
    }
    if (mode == "dispose")
    {
        foreach (var t in new[] { x, y, hidden, logits, lossTensor }) t.Dispose();
    }
    return value;
}
