#!/bin/sh
# Load benchmark of issue 3: GET /v1/me with a valid session against
# `gigvault serve` on SQLite, beside a bare /healthz measured in the same
# run. Prints two gvload tables: the closed loop (maximum throughput) and
# the open loop at 500 requests/s (latency).
#
#   scripts/bench-v1-me.sh [seconds]
#
# The per-account rate limit (--rate-user, default 600/1m) would refuse one
# account's 3,000 requests/s, as it should; the benchmark raises it rather
# than switching it off, so the limiter's cost is measured too.
set -eu
secs=${1:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
cd "$root"
go build -o "$work/gigvault" ./cmd/gigvault
go build -o "$work/gvload" ./cmd/gvload
port=${PORT:-18181}
base=http://127.0.0.1:$port
( cd "$work" && exec ./gigvault serve --addr 127.0.0.1:$port --rate-user 100000000/1s --log-level warn ) >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
for i in $(seq 50); do curl -sf "$base/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
mobile=13900000001
curl -sf -XPOST "$base/v1/auth/sms/send" -d "{\"mobile\":\"$mobile\"}" >/dev/null
code=$(curl -sf "$base/v1/dev/sms-outbox?mobile=$mobile" | sed 's/.*"code":"\([0-9]*\)".*/\1/')
token=$(curl -sf -XPOST "$base/v1/auth/sms/login" -d "{\"mobile\":\"$mobile\",\"code\":\"$code\",\"agree_policy\":true}" | sed 's/.*"token":"\([^"]*\)".*/\1/')
echo "== closed loop: maximum throughput (${secs}s per target)"
"$work/gvload" -url "$base/v1/me" -baseline "$base/healthz" -header "Authorization: Bearer $token" -duration "${secs}s" -concurrency 32
echo "== open loop: 500 requests/s (${secs}s per target)"
"$work/gvload" -url "$base/v1/me" -baseline "$base/healthz" -header "Authorization: Bearer $token" -duration "${secs}s" -rate 500
