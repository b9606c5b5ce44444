// The whole pipeline. Usage: dotnet tool restore && dotnet cake --target=Test   (targets: Native, Build, Test, Bench, Pack, PackSmoke)
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

Task("Fuzz")
    .Description("Fuzzes the C ABI with libFuzzer (clang, ASan + UBSan) for --fuzzSeconds (default 60); crash inputs go to fuzz/regressions.")
    .Does(() => StartProcessOrFail("bash", $"fuzz/run.sh {Argument("fuzzSeconds", 60)}"));

Task("Bench")
    .Description("Runs a short BenchmarkDotNet job of every benchmark and writes the tables to artifacts/bench.")
    .IsDependentOn("Build")
    .Does(() =>
{
    // Short jobs: 2 cores are shared, so the numbers are for ratios measured in the same run, not for absolutes.
    // 8 warm-up iterations: with 250 ms iterations the default 3 can end before tiered JIT has optimised code that
    // calls generic TensorPrimitives loops (the managed backend measured 10x slow that way).
    var job = "--job short --iterationTime 250 --warmupCount 8";
    var artifacts = MakeAbsolute(Directory("./artifacts/bench"));
    EnsureDirectoryExists(artifacts);

    // 1. Kernel micro-benchmarks, native vs managed (bench/NativeGrad.Benchmarks, part of the solution).
    StartProcessOrFail("dotnet", $"run --project bench/NativeGrad.Benchmarks -c {configuration} --no-build -- --filter *KernelBenchmarks* {job} --artifacts {artifacts}/kernels");
    CopyFile($"{artifacts}/kernels/results/comparison-native-managed.md", $"{artifacts}/kernels.md");

    // 2. W1-W7 on libtorch (TorchSharp), NativeGrad native and managed in one run. The Peers project stays out of
    //    NativeGrad.sln (TorchSharp-cpu restores ~600 MB); its build runs ../shared/tools/torchsharp-fix.sh on the
    //    output when present, and the program restarts itself with the LD_PRELOAD shim (see its Program.cs).
    var peers = "./bench/NativeGrad.Benchmarks.Peers/NativeGrad.Benchmarks.Peers.csproj";
    DotNetBuild(peers, new DotNetBuildSettings { Configuration = configuration });
    var bin = $"./bench/NativeGrad.Benchmarks.Peers/bin/{configuration}/net10.0";
    var exit = StartProcess("dotnet", new ProcessSettings { Arguments = $"{bin}/NativeGrad.Benchmarks.Peers.dll --filter * {job} --artifacts {artifacts}/workloads" });
    if (exit == 3)
        Warning("TorchSharp (libtorch) could not be loaded: the W1-W7 table has NO libtorch column. See the banner above.");
    else if (exit != 0)
        throw new Exception($"the W1-W7 benchmark run failed with exit code {exit}");
    CopyFile($"{artifacts}/workloads/results/comparison.md", $"{artifacts}/workloads.md");
    Information($"Tables: {artifacts}/workloads.md (W1-W7 with libtorch ratios), {artifacts}/kernels.md (kernels, native vs managed)");
});

// ---- NuGet package (docs/packaging.md) ----
// Pack: libnativegrad for linux-x64 (gcc), linux-arm64 (aarch64-linux-gnu-gcc) and win-x64 (mingw-w64), each in
// build/pack/<rid>, staged in artifacts/runtimes/<rid>/native/, checked with objdump, then
// artifacts/NativeGrad.<version>.nupkg + .snupkg. PackSmoke: the proof that the package works as a user gets it.
// Needs Debian/Ubuntu toolchains; scripts/install-cross-toolchains.sh installs the missing ones (as root).
var packageVersion = Argument("packageVersion", "");   // default: <Version> of NativeGrad.csproj
var packBuildRoot = "./build/pack";
var runtimesDir = "./artifacts/runtimes";
var nativeRuntimes = new[]
{
    // rid, library file, extra CMake arguments
    (Rid: "linux-x64", Lib: "libnativegrad.so", Args: "-DNG_PORTABLE_GLIBC=ON"),
    (Rid: "linux-arm64", Lib: "libnativegrad.so", Args: "-DNG_PORTABLE_GLIBC=ON -DCMAKE_TOOLCHAIN_FILE=native/cmake/toolchain-aarch64-linux-gnu.cmake"),
    (Rid: "win-x64", Lib: "libnativegrad.dll", Args: "-DNG_BUILD_TESTS=OFF -DCMAKE_TOOLCHAIN_FILE=native/cmake/toolchain-mingw-w64-x86_64.cmake"),
};

Task("NativeRuntimes")
    .Description("Builds libnativegrad for linux-x64, linux-arm64 and win-x64 and stages them in artifacts/runtimes.")
    .Does(() =>
{
    if (!IsRunningOnLinux()) throw new Exception("Pack builds the three runtimes with Debian's gcc, aarch64 and mingw-w64 cross compilers: run it on Linux.");
    StartProcessOrFail("bash", "scripts/install-cross-toolchains.sh");
    CleanDirectory(runtimesDir);
    foreach (var rt in nativeRuntimes)
    {
        var dir = $"{packBuildRoot}/{rt.Rid}";
        var args = rt.Args.Replace("native/cmake/", MakeAbsolute(Directory("./native/cmake")).FullPath + "/");
        Information($"== libnativegrad for {rt.Rid}");
        StartProcessOrFail("cmake", $"-S . -B {dir} -DCMAKE_BUILD_TYPE=Release {args}");
        StartProcessOrFail("cmake", $"--build {dir} -j 2");
        EnsureDirectoryExists($"{runtimesDir}/{rt.Rid}/native");
        CopyFile($"{dir}/{rt.Lib}", $"{runtimesDir}/{rt.Rid}/native/{rt.Lib}");
    }
    // The portable linux-x64 library (old glibc symbol versions) passes the C kernel tests here;
    // linux-arm64's run under qemu in PackSmoke.
    StartProcessOrFail("ctest", $"--test-dir {packBuildRoot}/linux-x64 --output-on-failure");
    StartProcessOrFail("bash", $"scripts/check-native-abi.sh {runtimesDir}");
});

Task("Pack")
    .Description("Packs artifacts/NativeGrad.<version>.nupkg (+ .snupkg) with the linux-x64, linux-arm64 and win-x64 native runtimes.")
    .IsDependentOn("NativeRuntimes")
    .Does(() =>
{
    var csproj = "./src/Managed/NativeGrad/NativeGrad.csproj";
    var version = string.IsNullOrEmpty(packageVersion) ? XmlPeek(csproj, "/Project/PropertyGroup/Version") : packageVersion;
    DeleteFiles("./artifacts/NativeGrad.*.nupkg");
    DeleteFiles("./artifacts/NativeGrad.*.snupkg");
    // Own output folders (build/pack/dotnet), so packing never touches the bin/obj of a developer's build.
    StartProcessOrFail("dotnet", $"pack {csproj} -c Release -o artifacts --artifacts-path {packBuildRoot}/dotnet"
        + $" -p:Version={version} -p:ContinuousIntegrationBuild=true -p:NativeGradSkipNative=true"
        + $" -p:NativeGradRuntimesDir={MakeAbsolute(Directory(runtimesDir)).FullPath}/");
    var nupkg = File($"./artifacts/NativeGrad.{version}.nupkg");
    var size = new System.IO.FileInfo(nupkg.Path.FullPath).Length;
    Information($"{nupkg.Path.GetFilename()}: {size} bytes ({size / 1048576.0:F2} MB)");
    if (size >= 5 * 1024 * 1024) throw new Exception($"{nupkg.Path.GetFilename()} is {size} bytes: the package must stay under 5 MB");
});

Task("PackSmoke")
    .Description("Pack, then the smoke test: objdump checks, the arm64 kernels under qemu, a fresh consumer project using the package.")
    .IsDependentOn("Pack")
    .Does(() =>
{
    var version = string.IsNullOrEmpty(packageVersion) ? XmlPeek("./src/Managed/NativeGrad/NativeGrad.csproj", "/Project/PropertyGroup/Version") : packageVersion;
    StartProcessOrFail("bash", $"scripts/smoke-test-package.sh artifacts/NativeGrad.{version}.nupkg {packBuildRoot}/linux-arm64");
});

void StartProcessOrFail(string tool, string arguments)
{
    var exit = StartProcess(tool, new ProcessSettings { Arguments = arguments });
    if (exit != 0) throw new Exception($"{tool} {arguments} failed with exit code {exit}");
}

RunTarget(target);
