// The whole pipeline. Usage: dotnet tool restore && dotnet cake --target=Test
var target = Argument("target", "Test");
var configuration = Argument("configuration", "Release");
var nativeBuildDir = "./build/native";

Task("Native")
    .Description("Configures and builds libnativegrad with CMake and runs its C kernel tests (ctest).")
    .Does(() =>
{
    StartProcessOrFail("cmake", $"-S . -B {nativeBuildDir} -DCMAKE_BUILD_TYPE=Release");
    StartProcessOrFail("cmake", $"--build {nativeBuildDir} -j 2");
    StartProcessOrFail("ctest", $"--test-dir {nativeBuildDir} --output-on-failure");
});

Task("Build")
    .Description("Builds the solution (MSBuild builds the native core too).")
    .Does(() => DotNetBuild("./NativeGrad.sln", new DotNetBuildSettings { Configuration = configuration }));

Task("Test")
    .Description("Runs ctest, then every xunit test on both backends.")
    .IsDependentOn("Native")
    .IsDependentOn("Build")
    .Does(() => DotNetTest("./NativeGrad.sln", new DotNetTestSettings { Configuration = configuration, NoBuild = true }));

Task("Bench")
    .Description("Runs a short BenchmarkDotNet job of every benchmark and writes the tables to artifacts/bench.")
    .IsDependentOn("Build")
    .Does(() =>
{
    StartProcessOrFail("dotnet", $"run --project bench/NativeGrad.Benchmarks -c {configuration} -- --filter * --job short --artifacts artifacts/bench");
});

Task("Pack")
    .Description("Packs the NuGet package (multi-runtime native binaries arrive with the packaging issue).")
    .Does(() =>
{
    throw new Exception("Pack: not yet. The multi-runtime NuGet package (linux-x64, linux-arm64, win-x64) is the packaging issue's work.");
});

void StartProcessOrFail(string tool, string arguments)
{
    var exit = StartProcess(tool, new ProcessSettings { Arguments = arguments });
    if (exit != 0) throw new Exception($"{tool} {arguments} failed with exit code {exit}");
}

RunTarget(target);
