using ScottPlot;

namespace NativeGrad.Samples.Mnist;

/// <summary>Draws the training-loss and accuracy curves of each run side by side into one PNG (ScottPlot).</summary>
internal static class LossPlot
{
    public static void Save(IReadOnlyList<RunResult> runs, string path)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        var loss = multiplot.GetPlot(0);
        var accuracy = multiplot.GetPlot(1);
        var palette = new ScottPlot.Palettes.Category10();

        for (int i = 0; i < runs.Count; i++)
        {
            var run = runs[i];
            var color = palette.GetColor(i);
            // Per-step losses are noisy: draw a running mean over ~1/4 epoch on top of the raw values.
            double[] xs = run.StepLosses.Select(s => s.Epoch).ToArray();
            double[] raw = run.StepLosses.Select(s => s.Loss).ToArray();
            var rawLine = loss.Add.ScatterLine(xs, raw, color.WithAlpha(0.25));
            rawLine.LineWidth = 1;
            var smooth = loss.Add.ScatterLine(xs, RunningMean(raw, Math.Max(1, raw.Length / Math.Max(1, run.Epochs.Count) / 4)), color);
            smooth.LineWidth = 2;
            smooth.LegendText = $"{run.Name} train";
            var epochs = run.Epochs.Select(e => (double)e.Epoch).ToArray();
            var testLoss = loss.Add.ScatterPoints(epochs, run.Epochs.Select(e => e.TestLoss).ToArray(), color);
            testLoss.MarkerSize = 8;
            testLoss.MarkerShape = MarkerShape.FilledDiamond;
            testLoss.LegendText = $"{run.Name} test";

            var train = accuracy.Add.Scatter(epochs, run.Epochs.Select(e => 100 * e.TrainAccuracy).ToArray(), color);
            train.LinePattern = LinePattern.Dashed;
            train.LegendText = $"{run.Name} train";
            var test = accuracy.Add.Scatter(epochs, run.Epochs.Select(e => 100 * e.TestAccuracy).ToArray(), color);
            test.LineWidth = 2;
            test.MarkerShape = MarkerShape.FilledDiamond;
            test.LegendText = $"{run.Name} test";
        }

        loss.Title("Cross-entropy loss");
        loss.XLabel("epoch");
        loss.YLabel("loss");
        loss.Axes.SetLimitsY(0, Math.Min(1.0, runs.SelectMany(r => r.StepLosses).Max(s => s.Loss)));
        loss.ShowLegend(Alignment.UpperRight);

        accuracy.Title("Accuracy (1,500 held-out digits)");
        accuracy.XLabel("epoch");
        accuracy.YLabel("accuracy (%)");
        double lowest = runs.SelectMany(r => r.Epochs).Min(e => Math.Min(e.TrainAccuracy, e.TestAccuracy)) * 100;
        accuracy.Axes.SetLimitsY(Math.Floor(Math.Min(lowest, 95) - 1), 100.5);
        var target = accuracy.Add.HorizontalLine(95, 1, Colors.Gray, LinePattern.Dotted);
        target.LegendText = "95%";
        accuracy.ShowLegend(Alignment.LowerRight);

        multiplot.SavePng(path, 1200, 450);
    }

    private static double[] RunningMean(double[] values, int window)
    {
        var result = new double[values.Length];
        double sum = 0;
        for (int i = 0; i < values.Length; i++)
        {
            sum += values[i];
            if (i >= window) sum -= values[i - window];
            result[i] = sum / Math.Min(i + 1, window);
        }
        return result;
    }
}
