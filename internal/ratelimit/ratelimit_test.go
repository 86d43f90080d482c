package ratelimit

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gigvault/internal/clock"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// step is one call in a scripted scenario: advance the clock, then call op
// on key and expect ok and retryAfter.
type step struct {
	advance time.Duration
	op      string // "allow", "allowN", "peek", "reset"
	key     string
	n       int
	ok      bool
	retry   time.Duration
}

func TestScenarios(t *testing.T) {
	fiveMin := Limit{Events: 5, Per: time.Minute} // one event per 12 s
	tests := []struct {
		name  string
		limit Limit
		steps []step
	}{
		{
			name:  "burst then refusal",
			limit: fiveMin,
			steps: []step{
				{op: "allow", ok: true},
				{op: "allow", ok: true},
				{op: "allow", ok: true},
				{op: "allow", ok: true},
				{op: "allow", ok: true},
				{op: "allow", ok: false, retry: 12 * time.Second},
				{advance: 5 * time.Second, op: "allow", ok: false, retry: 7 * time.Second},
				{op: "allow", ok: false, retry: 7 * time.Second}, // refusals consume nothing
			},
		},
		{
			name:  "refill after time",
			limit: fiveMin,
			steps: []step{
				{op: "allowN", n: 5, ok: true},
				{op: "allow", ok: false, retry: 12 * time.Second},
				{advance: 12 * time.Second, op: "allow", ok: true},
				{op: "allow", ok: false, retry: 12 * time.Second},
				{advance: 36 * time.Second, op: "allowN", n: 3, ok: true},
				{op: "allow", ok: false, retry: 12 * time.Second},
				// After a full period the bucket is full, not fuller.
				{advance: 10 * time.Minute, op: "allowN", n: 5, ok: true},
				{op: "allow", ok: false, retry: 12 * time.Second},
			},
		},
		{
			name:  "allowN",
			limit: fiveMin,
			steps: []step{
				{op: "allowN", n: 3, ok: true},
				{op: "allowN", n: 3, ok: false, retry: 12 * time.Second},
				{op: "allowN", n: 2, ok: true},
				{op: "allowN", n: 2, ok: false, retry: 24 * time.Second},
				{op: "allowN", n: 0, ok: true},
				{op: "allowN", n: -1, ok: true},
				{op: "allowN", n: 6, ok: false, retry: time.Duration(math.MaxInt64)},
				{advance: 24 * time.Second, op: "allowN", n: 2, ok: true},
			},
		},
		{
			name:  "reset",
			limit: fiveMin,
			steps: []step{
				{op: "allowN", n: 5, ok: true},
				{op: "allow", ok: false, retry: 12 * time.Second},
				{op: "reset"},
				{op: "allowN", n: 5, ok: true},
				{op: "allow", ok: false, retry: 12 * time.Second},
			},
		},
		{
			name:  "peek does not consume",
			limit: fiveMin,
			steps: []step{
				{op: "peek", ok: true},
				{op: "peek", ok: true},
				{op: "allowN", n: 4, ok: true},
				{op: "peek", ok: true},
				{op: "peek", ok: true},
				{op: "allow", ok: true},
				{op: "peek", ok: false, retry: 12 * time.Second},
				{advance: 3 * time.Second, op: "peek", ok: false, retry: 9 * time.Second},
				{advance: 9 * time.Second, op: "peek", ok: true},
				{op: "allow", ok: true},
			},
		},
		{
			name:  "keys are independent",
			limit: Limit{Events: 1, Per: time.Second},
			steps: []step{
				{op: "allow", key: "a", ok: true},
				{op: "allow", key: "a", ok: false, retry: time.Second},
				{op: "allow", key: "b", ok: true},
				{op: "reset", key: "b"},
				{op: "allow", key: "a", ok: false, retry: time.Second},
			},
		},
		{
			name:  "unlimited zero limit",
			limit: Limit{},
			steps: []step{
				{op: "allowN", n: 1 << 30, ok: true},
				{op: "allow", ok: true},
				{op: "peek", ok: true},
				{op: "reset"},
			},
		},
		{
			name:  "unlimited zero period",
			limit: Limit{Events: 1},
			steps: []step{
				{op: "allow", ok: true},
				{op: "allow", ok: true},
			},
		},
		{
			name:  "uneven interval",
			limit: Limit{Events: 3, Per: 10 * time.Second}, // 3.333… s each
			steps: []step{
				{op: "allowN", n: 3, ok: true},
				{op: "allow", ok: false, retry: 3333333333},
				{advance: 3333333333, op: "allow", ok: true},
			},
		},
		{
			name:  "clock going backwards",
			limit: Limit{Events: 2, Per: 2 * time.Second},
			steps: []step{
				{op: "allowN", n: 2, ok: true},
				{advance: -time.Hour, op: "allow", ok: false, retry: time.Hour + time.Second},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			l := New(tc.limit, clk, 0)
			for i, s := range tc.steps {
				clk.Advance(s.advance)
				key := s.key
				if key == "" {
					key = "k"
				}
				var ok bool
				var retry time.Duration
				switch s.op {
				case "allow":
					ok, retry = l.Allow(key)
				case "allowN":
					ok, retry = l.AllowN(key, s.n)
				case "peek":
					ok, retry = l.Peek(key)
				case "reset":
					l.Reset(key)
					continue
				default:
					t.Fatalf("bad op %q", s.op)
				}
				if ok != s.ok || retry != s.retry {
					t.Fatalf("step %d (%s %s n=%d): got (%v, %v), want (%v, %v)",
						i, s.op, key, s.n, ok, retry, s.ok, s.retry)
				}
				if !ok && retry <= 0 {
					t.Fatalf("step %d: refused with retryAfter %v", i, retry)
				}
			}
		})
	}
}

func TestRetryAfterIsExact(t *testing.T) {
	// Waiting exactly retryAfter is enough; waiting a nanosecond less is not.
	clk := clock.NewFake(t0)
	l := New(Limit{Events: 7, Per: time.Minute}, clk, 0)
	for range 7 {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatal("burst refused")
		}
	}
	ok, retry := l.Allow("k")
	if ok {
		t.Fatal("allowed past burst")
	}
	clk.Advance(retry - 1)
	if ok, r := l.Peek("k"); ok || r != 1 {
		t.Fatalf("1ns early: got (%v, %v), want (false, 1ns)", ok, r)
	}
	clk.Advance(1)
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("refused after waiting retryAfter")
	}
}

func TestConcurrentFrozenClock(t *testing.T) {
	const (
		burst      = 100
		goroutines = 16
		attempts   = 50
		keys       = 4
	)
	clk := clock.NewFake(t0)
	l := New(Limit{Events: burst, Per: time.Hour}, clk, 0)
	var allowed [keys]atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range attempts {
				k := (g + i) % keys
				if ok, retry := l.Allow("key-" + strconv.Itoa(k)); ok {
					allowed[k].Add(1)
				} else if retry <= 0 {
					t.Errorf("refused with retryAfter %v", retry)
				}
				l.Peek("key-" + strconv.Itoa(k))
			}
		}()
	}
	wg.Wait()
	for k := range keys {
		if got := allowed[k].Load(); got != burst {
			t.Errorf("key %d: %d allowed, want exactly %d", k, got, burst)
		}
	}
	if l.Len() != keys {
		t.Errorf("Len = %d, want %d", l.Len(), keys)
	}
}

func TestConcurrentAdvancingClock(t *testing.T) {
	// With the clock moving, allowed events never exceed burst + refill.
	clk := clock.NewFake(t0)
	lim := Limit{Events: 10, Per: time.Second}
	l := New(lim, clk, 0)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if g == 0 {
					clk.Advance(time.Millisecond)
				}
				if ok, _ := l.Allow("k"); ok {
					allowed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := clk.Now().Sub(t0)
	maxAllowed := int64(lim.Events) + int64(elapsed/(lim.Per/time.Duration(lim.Events)))
	if got := allowed.Load(); got > maxAllowed || got < int64(lim.Events) {
		t.Errorf("allowed %d over %v, want between %d and %d", got, elapsed, lim.Events, maxAllowed)
	}
}

func TestEvictionBoundsMemory(t *testing.T) {
	for _, maxKeys := range []int{1, 10, 100, 1000} {
		t.Run(strconv.Itoa(maxKeys), func(t *testing.T) {
			clk := clock.NewFake(t0)
			l := New(Limit{Events: 3, Per: time.Minute}, clk, maxKeys)
			for i := range 20 * maxKeys {
				if ok, _ := l.Allow(fmt.Sprintf("ip-%d", i)); !ok {
					t.Fatalf("new key %d refused", i)
				}
				if n := l.Len(); n > maxKeys {
					t.Fatalf("Len = %d after %d keys, want <= %d", n, i+1, maxKeys)
				}
				if i%7 == 0 {
					clk.Advance(time.Second)
				}
			}
		})
	}
}

// oneShard returns a limiter with a single shard of capacity keys, so that
// eviction is deterministic whatever the hash seed.
func oneShard(lim Limit, clk clock.Clock, capacity int) *Limiter {
	l := New(lim, clk, 1)
	l.perShard = capacity
	return l
}

func TestEvictionLenientOnly(t *testing.T) {
	clk := clock.NewFake(t0)
	l := New(Limit{Events: 1, Per: time.Minute}, clk, 1)
	if len(l.shards) != 1 || l.perShard != 1 {
		t.Fatalf("maxKeys 1: %d shards of %d", len(l.shards), l.perShard)
	}
	l.Allow("a")
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("a allowed twice")
	}
	l.Allow("b") // evicts a: more lenient for a, never stricter for b
	if l.Len() != 1 {
		t.Fatalf("Len = %d, want 1", l.Len())
	}
	if ok, _ := l.Peek("b"); ok {
		t.Fatal("b not recorded")
	}
	if ok, _ := l.Peek("a"); !ok {
		t.Fatal("evicted a still limited")
	}
}

func TestEvictionDropsRefilledFirst(t *testing.T) {
	clk := clock.NewFake(t0)
	l := oneShard(Limit{Events: 2, Per: time.Minute}, clk, 16)
	for i := range 8 {
		l.AllowN("busy-"+strconv.Itoa(i), 2) // TAT one minute ahead
	}
	for i := range 8 {
		l.Allow("idle-" + strconv.Itoa(i)) // TAT 30 s ahead
	}
	clk.Advance(45 * time.Second) // idle keys are full again, busy are not
	l.Allow("new")
	if n := l.Len(); n != 9 {
		t.Fatalf("Len = %d, want 9 (8 busy + new)", n)
	}
	for i := range 8 {
		if ok, retry := l.AllowN("busy-"+strconv.Itoa(i), 2); ok || retry != 15*time.Second {
			t.Fatalf("busy-%d evicted although refilled keys were available", i)
		}
	}
}

func TestEvictionDropsOldestFirst(t *testing.T) {
	clk := clock.NewFake(t0)
	l := oneShard(Limit{Events: 1, Per: time.Hour}, clk, 16)
	for i := range 16 {
		l.Allow("k" + strconv.Itoa(i))
		clk.Advance(time.Second)
	}
	l.Allow("newest")
	if n := l.Len(); n > 16 || n < 15 {
		t.Fatalf("Len = %d, want 15..16", n)
	}
	// An eighth of the shard (2 keys) goes, the oldest ones.
	for _, k := range []string{"k0", "k1"} {
		if ok, _ := l.Peek(k); !ok {
			t.Errorf("old key %s not evicted", k)
		}
	}
	for _, k := range []string{"k2", "k15", "newest"} {
		if ok, _ := l.Peek(k); ok {
			t.Errorf("recent key %s evicted", k)
		}
	}
}

func TestNilClockAndDefaults(t *testing.T) {
	l := New(Limit{Events: 2, Per: time.Hour}, nil, 0)
	if ok, _ := l.AllowN("k", 2); !ok {
		t.Fatal("burst refused")
	}
	if ok, retry := l.Allow("k"); ok || retry <= 0 || retry > 30*time.Minute {
		t.Fatalf("got (%v, %v)", ok, retry)
	}
	if c := l.perShard * len(l.shards); c > 100000 || c < 99900 {
		t.Fatalf("default capacity %d", l.perShard*len(l.shards))
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int
	}{
		{-time.Second, 1},
		{0, 1},
		{1, 1},
		{999 * time.Millisecond, 1},
		{time.Second, 1},
		{time.Second + 1, 2},
		{12 * time.Second, 12},
		{90*time.Second + 500*time.Millisecond, 91},
		{time.Duration(math.MaxInt64), math.MaxInt32},
	}
	for _, tc := range tests {
		if got := RetryAfterSeconds(tc.d); got != tc.want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
}

func BenchmarkAllow(b *testing.B) {
	lim := Limit{Events: 1 << 20, Per: time.Second}
	b.Run("single-key", func(b *testing.B) {
		l := New(lim, clock.Real{}, 0)
		for b.Loop() {
			l.Allow("203.0.113.7")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("many-keys-parallel", func(b *testing.B) {
		l := New(lim, clock.Real{}, 0)
		keys := make([]string, 4096)
		for i := range keys {
			keys[i] = "user-" + strconv.Itoa(i)
		}
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				l.Allow(keys[i%len(keys)])
				i += 7
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
}
