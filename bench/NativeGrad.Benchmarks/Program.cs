using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(NativeGrad.Benchmarks.Workloads).Assembly).Run(args);
