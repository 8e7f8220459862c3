#!/usr/bin/env bash
# The fault drill of issue 10 on three local silo processes (scripts/local-cluster.sh, Redis membership, probe
# timeout 1 s): TRIALS kill -9 trials at random ring steps, the coordinator's silo killed, a silo frozen for 30 s,
# Redis killed and restarted mid-job, 8 jobs with a kill. Appends the recovery-time distribution (faulted wall -
# fault-free wall, seconds, client side) to bench/results/fault-drill.md with the command and machine.
#   TRIALS=30 bash bench/fault-drill.sh
set -euo pipefail
cd "$(dirname "$0")/.."
trials=${TRIALS:-30}
report=$(mktemp)
dotnet build -c Release tests/RingAttention.Integration.Tests -v quiet -nologo >/dev/null
dotnet build -c Release src/Silo/RingAttention.Silo -v quiet -nologo >/dev/null
RINGATTN_DRILL_TRIALS=$trials RINGATTN_DRILL_REPORT=$report \
  dotnet test tests/RingAttention.Integration.Tests -c Release --no-build --filter "FullyQualifiedName~FaultTests" \
  --logger "console;verbosity=normal" | grep -E "Passed|Failed|Total" || true
{
  echo
  echo "## $(date -u +%Y-%m-%d) — \`TRIALS=$trials bash bench/fault-drill.sh\`, $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), commit $(git rev-parse --short HEAD)"
  echo
  echo "| scenario | completed, bitwise equal | fault-free s | recovery min | median | p90 | max |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  cat "$report"
} | tee -a bench/results/fault-drill.md
rm -f "$report"
