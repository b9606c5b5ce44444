// PyTorch's "Automatic Differentiation with torch.autograd" tutorial, line by line, in NativeGrad.
// Run: dotnet run --project samples/Tutorial -c Release   (NATIVEGRAD_BACKEND=managed for the C# kernels)
using NativeGrad;
using NativeGrad.Autograd;
using NativeGrad.NN;

Console.WriteLine($"NativeGrad backend: {Runtime.Backend.ToString().ToLowerInvariant()} ({Runtime.Kernels})");
Tensor.ManualSeed(0);

var x = Tensor.Ones(5);             // input tensor
var y = Tensor.Zeros(3);            // expected output
var w = Tensor.Randn(5, 3).RequiresGrad_();
var b = Tensor.Randn(3).RequiresGrad_();
var z = x.MatMul(w) + b;
var loss = Functional.BinaryCrossEntropyWithLogits(z, y);

Console.WriteLine($"Gradient function for z = {z.GradFn}");
Console.WriteLine($"Gradient function for loss = {loss.GradFn}");

// The graph, as Graphviz DOT (and SVG where Graphviz is installed).
File.WriteAllText("graph.dot", loss.ToDot());
try
{
    Autograd.Visualize(loss, "graph.svg");
    Console.WriteLine("Graph written to graph.dot and graph.svg");
}
catch (InvalidOperationException e)
{
    Console.WriteLine($"Graph written to graph.dot ({e.Message.Split('.')[0]})");
}

loss.Backward();
Console.WriteLine(w.Grad);
Console.WriteLine(b.Grad);

z = x.MatMul(w) + b;
Console.WriteLine($"requires grad: {z.RequiresGrad}");
using (Autograd.NoGrad())
{
    z = x.MatMul(w) + b;
}
Console.WriteLine($"requires grad: {z.RequiresGrad}");

z = x.MatMul(w) + b;
var zDet = z.Detach();
Console.WriteLine(zDet.RequiresGrad);

// z = x*y + y**2 at x = 2, y = 3: dz/dx = y = 3, dz/dy = x + 2y = 8.
var xs = Tensor.Scalar(2.0, requiresGrad: true);
var ys = Tensor.Scalar(3.0, requiresGrad: true);
var zs = xs * ys + ys.Pow(2);
zs.Backward();
Console.WriteLine($"Gradient of x: {xs.Grad!.Item()}");
Console.WriteLine($"Gradient of y: {ys.Grad!.Item()}");
