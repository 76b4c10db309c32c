#!/usr/bin/env bash
# Load benchmark: builds the agenda server and the load generator, then runs
# the whole measurement (about 1.5 minutes) and prints a Markdown report.
# Extra arguments go to the load generator, e.g.
#
#   bench/run.sh -c 32 -d 10s -ws-conns 2000
#
# It exits non-zero if any request failed (add -strict to fail on a missed
# target too). Run it on a quiet machine: the server, the ceiling and the
# load generator share its CPUs.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/agenda" ./cmd/agenda
go build -o "$bin/load" ./bench/load
"$bin/load" -agenda "$bin/agenda" "$@"
