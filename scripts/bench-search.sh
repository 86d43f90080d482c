#!/bin/sh
# Job search and nearby search benchmarks (internal/jobs/bench_test.go) over
# synthetic postings on SQLite, and on PostgreSQL when GIGVAULT_TEST_POSTGRES
# holds a server URL. Prints the benchmark lines, the load times and sizes,
# the query plans and the two summary tables; the whole output is kept in
# bench-search.out (or $OUT).
#
#   scripts/bench-search.sh [postings] [iterations]
#
# postings defaults to 1000000 (GIGVAULT_BENCH_JOBS), iterations to 200 per
# sub-benchmark. GIGVAULT_BENCH_BUDGET (default 60s) stops a sub-benchmark
# early once it has 20 samples, for baselines that take seconds per query;
# GIGVAULT_BENCH_KEEP=<dir> keeps the loaded databases for the next run.
set -eu
n=${1:-1000000}
iters=${2:-200}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-bench-search.out}
cd "$root"
if [ -z "${GIGVAULT_TEST_POSTGRES:-}" ]; then
	echo "GIGVAULT_TEST_POSTGRES is not set: SQLite only" >&2
fi
GIGVAULT_BENCH_JOBS=$n go test ./internal/jobs/ -run '^$' -bench 'Search|Nearby' \
	-benchtime "${iters}x" -timeout 90m 2>&1 | tee "$out"
