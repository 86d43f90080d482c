// Command gvload is a small HTTP load generator for benchmarking the
// gigvault server on this machine. It only talks to loopback addresses
// (127.0.0.0/8, ::1, localhost) and refuses anything else; every run stops
// by itself (-duration at most 5m and/or -requests at most 10,000,000 per
// target).
//
// Usage:
//
//	# maximum throughput of a bare endpoint (closed loop, 2×GOMAXPROCS×8 workers)
//	go run ./cmd/gvload -url http://127.0.0.1:8080/healthz -rate 0 -duration 10s
//
//	# /v1/me with a valid session, /healthz measured in the same run as the
//	# baseline; the report adds target/baseline ratios for req/s, p50, p99
//	go run ./cmd/gvload -url http://127.0.0.1:8080/v1/me \
//	    -header "Authorization: Bearer $TOKEN" \
//	    -baseline http://127.0.0.1:8080/healthz -rate 0 -duration 10s
//
//	# latency at a fixed arrival rate (open loop): p99 at 500 req/s
//	go run ./cmd/gvload -url http://127.0.0.1:8080/v1/me \
//	    -header "Authorization: Bearer $TOKEN" \
//	    -baseline http://127.0.0.1:8080/healthz -rate 500 -duration 10s
//
// -rate N sends N requests/s on a fixed schedule whatever the server does,
// and measures each latency from the request's scheduled send time, so a
// stalled server shows up as latency instead of silently lowering the
// load; requests the generator could not send on time are counted as
// "late". -rate 0 is a closed loop: -concurrency workers send back to back.
// Several -url flags are measured one after another with the same client;
// -warmup (default 1s) precedes each and is not recorded. Only responses
// with the -expect status (default 200) count as successes, and latency
// percentiles cover successes only. -json prints one JSON object.
//
// The generator shares the machine's two cores with the server, so
// closed-loop figures are a lower bound on what the server alone can do;
// compare ratios from one run rather than absolute figures across runs.
//
// Run "go run ./cmd/gvload -h" for every flag.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"gigvault/internal/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := load.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
