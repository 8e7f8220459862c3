#!/usr/bin/env bash
# One self-contained, trimmed, single-file `ringattn` for linux-x64: runs where no .NET is installed (a release binary,
# and what the device tool carries to the GPU machine, which caps what travels at 64 MiB).
#   scripts/release.sh [OUT]      default OUT: artifacts/release/linux-x64; prints the binary's path and size
# What trimming must keep (reflection in Spectre.Console.Cli, Orleans, ILGPU) is rooted in RingAttention.Cli.csproj;
# tests/RingAttention.Deploy.Tests/ReleaseTests.cs builds it from a copy of the tree and runs it end to end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/artifacts/release/linux-x64}
dotnet publish "$root/src/Cli/RingAttention.Cli/RingAttention.Cli.csproj" -c Release -r linux-x64 --self-contained true \
  -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true \
  -p:PublishTrimmed=true -p:DebugType=none -p:GenerateDocumentationFile=false -o "$out" >&2
echo "$out/ringattn ($(( $(stat -c %s "$out/ringattn") / 1048576 )) MiB)"
