#!/usr/bin/env bash
# smoke-test-package.sh [NUPKG] [ARM64_BUILD_DIR]
#
# Proof that the NuGet package works as a user gets it (docs/packaging.md). Run by `dotnet cake --target=PackSmoke`
# (which builds the package first) and so by .ci/run. Checks, in order:
#   1. the package: under 5 MB; holds lib/net10.0/NativeGrad.dll + XML docs, README, LICENSE, the MIT licence
#      expression and runtimes/{linux-x64,linux-arm64,win-x64}/native/; the .snupkg beside it holds the PDB;
#   2. the packaged binaries with objdump (scripts/check-native-abi.sh): GLIBC <= 2.28, glibc-only NEEDED,
#      only the ng_* API exported; the Windows DLL imports only KERNEL32/msvcrt;
#   3. the packaged linux-x64 and linux-arm64 libraries loaded by a small C program (scripts/native-smoke.c)
#      natively and under qemu-aarch64, and the C kernel tests (ctest) of the arm64 build under qemu-aarch64
#      when ARM64_BUILD_DIR holds a build with tests whose library is byte-identical to the packaged one;
#   4. a fresh console project outside the repository that references the package from a local folder feed
#      (nuget.config: that folder + nuget.org, NativeGrad mapped to the folder only), runs PyTorch's autograd
#      tutorial on the native backend and checks its output; then `dotnet publish -r` for linux-x64 (run),
#      win-x64 and linux-arm64 (the right native binary lands next to the app).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
nupkg=${1:-}
arm64_build=${2:-}
if [ -z "$nupkg" ]; then
    nupkg=$(ls -t "$repo"/artifacts/NativeGrad.*.nupkg 2>/dev/null | grep -v '\.snupkg$' | head -1 || true)
fi
[ -n "$nupkg" ] && [ -f "$nupkg" ] || { echo "smoke: no package (run: dotnet cake --target=Pack)" >&2; exit 1; }
nupkg=$(cd "$(dirname "$nupkg")" && pwd)/$(basename "$nupkg")
version=$(basename "$nupkg" .nupkg); version=${version#NativeGrad.}
bash "$repo/scripts/install-cross-toolchains.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/nativegrad-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "smoke: FAIL: $*" >&2; exit 1; }
start=$SECONDS

echo "== package $(basename "$nupkg")"
size=$(stat -c %s "$nupkg")
unzip -l "$nupkg" | awk 'NR > 3 && $4 != "" && $4 !~ /^(_rels\/|package\/|\[Content_Types\])/ { printf "  %9d  %s\n", $1, $4 }' | grep -v -- '--------'
echo "  size: $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.2f", s / 1048576 }') MB, limit 5 MB)"
[ "$size" -lt $((5 * 1024 * 1024)) ] || fail "the package is $size bytes, over 5 MB"
mkdir -p "$work/pkg" && unzip -q "$nupkg" -d "$work/pkg"
for f in lib/net10.0/NativeGrad.dll lib/net10.0/NativeGrad.xml README.md LICENSE NativeGrad.nuspec \
         runtimes/linux-x64/native/libnativegrad.so runtimes/linux-arm64/native/libnativegrad.so \
         runtimes/win-x64/native/libnativegrad.dll; do
    [ -f "$work/pkg/$f" ] || fail "the package lacks $f"
done
grep -q '<license type="expression">MIT</license>' "$work/pkg/NativeGrad.nuspec" || fail "nuspec: no MIT licence expression"
grep -q '<readme>README.md</readme>' "$work/pkg/NativeGrad.nuspec" || fail "nuspec: no readme"
snupkg=${nupkg%.nupkg}.snupkg
[ -f "$snupkg" ] || fail "no symbols package $snupkg"
unzip -l "$snupkg" | grep -q 'lib/net10.0/NativeGrad.pdb' || fail "$snupkg lacks lib/net10.0/NativeGrad.pdb"
echo "  symbols: $(basename "$snupkg") $(stat -c %s "$snupkg") bytes (lib/net10.0/NativeGrad.pdb)"

echo "== native binaries (objdump)"
bash "$repo/scripts/check-native-abi.sh" "$work/pkg/runtimes"

echo "== packaged libraries loaded by a C program (linux-x64 natively, linux-arm64 under qemu-aarch64)"
gcc -O1 -o "$work/native-smoke-x64" "$repo/scripts/native-smoke.c" -ldl -lm
"$work/native-smoke-x64" "$work/pkg/runtimes/linux-x64/native/libnativegrad.so"
aarch64-linux-gnu-gcc -O1 -o "$work/native-smoke-arm64" "$repo/scripts/native-smoke.c" -ldl -lm
qemu-aarch64 -L /usr/aarch64-linux-gnu "$work/native-smoke-arm64" "$work/pkg/runtimes/linux-arm64/native/libnativegrad.so"
if [ -n "$arm64_build" ]; then
    echo "== C kernel tests of the linux-arm64 build under qemu-aarch64 (ctest)"
    [ -f "$arm64_build/CTestTestfile.cmake" ] || fail "$arm64_build is not a CMake build directory with tests"
    [ "$(sha256sum < "$arm64_build/libnativegrad.so")" = "$(sha256sum < "$work/pkg/runtimes/linux-arm64/native/libnativegrad.so")" ] \
        || fail "$arm64_build/libnativegrad.so is not the packaged linux-arm64 binary"
    ctest --test-dir "$arm64_build" --output-on-failure -j 2
fi

echo "== consumer project outside the repository"
app="$work/app"; feed="$work/feed"
mkdir -p "$app" "$feed"
cp "$nupkg" "$feed/"
# Reuse the machine's NuGet cache for the dependencies (no download when they are there), but never for
# NativeGrad itself: it must come from the feed. A copy of this version in the cache would shadow the feed.
global_packages=$(dotnet nuget locals global-packages --list | sed -n 's/^global-packages: //p')
fallback=""
if [ -n "$global_packages" ] && [ -d "$global_packages" ] && [ ! -d "$global_packages/nativegrad/$version" ]; then
    fallback="<fallbackPackageFolders><add key=\"machine\" value=\"$global_packages\" /></fallbackPackageFolders>"
fi
cat > "$app/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <config><add key="globalPackagesFolder" value="$work/packages" /></config>
  $fallback
  <packageSources>
    <clear />
    <add key="local" value="$feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="local"><package pattern="NativeGrad" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
EOF
cat > "$app/SmokeApp.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
    <UseAppHost>false</UseAppHost>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="NativeGrad" Version="$version" />
  </ItemGroup>
</Project>
EOF
cat > "$app/Program.cs" <<'EOF'
// PyTorch's "Automatic Differentiation with torch.autograd" tutorial, as a NativeGrad user writes it.
using NativeGrad;
using NativeGrad.Autograd;
using NativeGrad.NN;

Console.WriteLine($"NativeGrad backend: {Runtime.Backend} ({Runtime.Kernels})");
if (Runtime.Backend != BackendKind.Native)
{
    Console.WriteLine($"FAIL: the native backend was not loaded: {Runtime.NativeLoadFailure}");
    return 1;
}
if (Runtime.Kernels is not ("avx512" or "avx2" or "scalar"))
{
    Console.WriteLine($"FAIL: unexpected kernel path {Runtime.Kernels}");
    return 1;
}
if (OperatingSystem.IsLinux())
{
    string? mapped = File.ReadLines("/proc/self/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        .Where(f => f.Length >= 6 && f[5].EndsWith("libnativegrad.so")).Select(f => f[5]).FirstOrDefault();
    Console.WriteLine($"Native library: {mapped}");
}

Tensor.ManualSeed(0);
var x = Tensor.Ones(5);             // input tensor
var y = Tensor.Zeros(3);            // expected output
var w = Tensor.Randn(5, 3).RequiresGrad_();
var b = Tensor.Randn(3).RequiresGrad_();
var z = x.MatMul(w) + b;
var loss = Functional.BinaryCrossEntropyWithLogits(z, y);
Console.WriteLine($"Gradient function for z = {z.GradFn}");
Console.WriteLine($"Gradient function for loss = {loss.GradFn}");
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

var xs = Tensor.Scalar(2.0, requiresGrad: true);
var ys = Tensor.Scalar(3.0, requiresGrad: true);
var zs = xs * ys + ys.Pow(2);
zs.Backward();
Console.WriteLine($"Gradient of x: {xs.Grad!.Item()}");
Console.WriteLine($"Gradient of y: {ys.Grad!.Item()}");

// The same gradients on the managed (C#) kernels: the native ones must agree.
double[] nativeW = w.Grad!.ToDoubleArray(), nativeB = b.Grad!.ToDoubleArray();
using (Runtime.UseBackend(BackendKind.Managed))
{
    var w2 = w.Detach().RequiresGrad_();
    var b2 = b.Detach().RequiresGrad_();
    Functional.BinaryCrossEntropyWithLogits(x.MatMul(w2) + b2, y).Backward();
    double diff = nativeW.Zip(w2.Grad!.ToDoubleArray(), (p, q) => Math.Abs(p - q))
        .Concat(nativeB.Zip(b2.Grad!.ToDoubleArray(), (p, q) => Math.Abs(p - q))).Max();
    Console.WriteLine($"max |native - managed| gradient difference: {diff:E2}");
    if (diff > 1e-6) { Console.WriteLine("FAIL: native and managed gradients differ"); return 1; }
}
Console.WriteLine("smoke: OK");
return 0;
EOF
cd "$app"
expect_output() {   # $1 = output, $2 = where the library must have been loaded from (Linux)
    grep -q "^NativeGrad backend: Native (\(avx512\|avx2\|scalar\))$" <<<"$1" || fail "not the native backend"
    grep -q "^Native library: $2" <<<"$1" || fail "libnativegrad.so not loaded from $2"
    grep -q "^Gradient function for z = <AddBackward0>$" <<<"$1" || fail "tutorial output"
    grep -q "^Gradient function for loss = <BinaryCrossEntropyWithLogitsBackward0>$" <<<"$1" || fail "tutorial output"
    grep -q "^Gradient of x: 3$" <<<"$1" || fail "tutorial: Gradient of x"
    grep -q "^Gradient of y: 8$" <<<"$1" || fail "tutorial: Gradient of y"
    grep -q "^smoke: OK$" <<<"$1" || fail "consumer app"
}
dotnet restore --nologo -v q >/dev/null || dotnet restore --nologo
[ -f "$work/packages/nativegrad/$version/nativegrad.$version.nupkg.sha512" ] || fail "NativeGrad $version was not restored from the feed"
[ "$(cat "$work/packages/nativegrad/$version/nativegrad.$version.nupkg.sha512")" = "$(openssl dgst -sha512 -binary "$nupkg" | base64 -w0)" ] \
    || fail "the restored NativeGrad is not $nupkg"
echo "restored NativeGrad $version from the local feed ($feed)"
out=$(dotnet run --no-restore -c Release 2>&1) || { echo "$out"; fail "dotnet run"; }
echo "$out"
expect_output "$out" "$app/bin/Release/net10.0/runtimes/linux-x64/native/libnativegrad.so"

echo "== dotnet publish -r linux-x64 / win-x64 / linux-arm64 (framework-dependent)"
for rid in linux-x64 win-x64 linux-arm64; do
    dotnet publish --nologo -v q -c Release -r "$rid" --self-contained false -o "$work/publish-$rid" >/dev/null \
        || fail "dotnet publish -r $rid"
done
out=$(dotnet "$work/publish-linux-x64/SmokeApp.dll" 2>&1) || { echo "$out"; fail "published linux-x64 app"; }
expect_output "$out" "$work/publish-linux-x64/libnativegrad.so"
echo "publish linux-x64: runs, $(grep '^NativeGrad backend' <<<"$out"), library next to the app"
objdump -f "$work/publish-win-x64/libnativegrad.dll" | grep -q "pei-x86-64" || fail "publish win-x64: libnativegrad.dll missing or wrong"
[ -f "$work/publish-win-x64/NativeGrad.dll" ] || fail "publish win-x64: NativeGrad.dll missing"
[ ! -e "$work/publish-win-x64/libnativegrad.so" ] || fail "publish win-x64 also holds libnativegrad.so"
echo "publish win-x64: libnativegrad.dll (pei-x86-64) next to NativeGrad.dll and the app"
aarch64-linux-gnu-objdump -f "$work/publish-linux-arm64/libnativegrad.so" | grep -q 'elf64-littleaarch64' \
    || fail "publish linux-arm64: libnativegrad.so missing or not aarch64"
echo "publish linux-arm64: libnativegrad.so (elf64-littleaarch64) next to the app"
echo "smoke: package $(basename "$nupkg") OK ($((SECONDS - start)) s)"
