package load

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestNearestRank(t *testing.T) {
	for _, tc := range []struct {
		p    float64
		n    uint64
		want uint64
	}{
		{50, 100, 50},
		{90, 100, 90},
		{99, 100, 99},
		{99.9, 100, 100},
		{99.9, 1000, 999}, // 0.999·1000 must not round up to 1000
		{99.99, 10000, 9999},
		{99.9, 10_000_000, 9_990_000},
		{50, 1, 1},
		{0.0001, 10, 1},
		{50, 3, 2},
		{33.3, 3, 1},
		{90, 10, 9},
		{90.1, 10, 10},
	} {
		if got := nearestRank(tc.p, tc.n); got != tc.want {
			t.Errorf("nearestRank(%v, %d) = %d, want %d", tc.p, tc.n, got, tc.want)
		}
	}
}

func seq(from, to int64) []time.Duration {
	var out []time.Duration
	for v := from; v <= to; v++ {
		out = append(out, time.Duration(v))
	}
	return out
}

// Values below 256 ns sit in one-nanosecond buckets and single values are
// clamped to the exact min/max, so these percentiles must be exact.
func TestPercentileExactValues(t *testing.T) {
	for _, tc := range []struct {
		name    string
		samples []time.Duration
		want    map[float64]time.Duration
	}{
		{"1..100", seq(1, 100), map[float64]time.Duration{0: 1, 1: 1, 50: 50, 90: 90, 99: 99, 99.9: 100, 100: 100}},
		{"1..200 reversed", reverse(seq(1, 200)), map[float64]time.Duration{50: 100, 90: 180, 99: 198, 99.9: 200, 99.5: 199}},
		{"ties", []time.Duration{5, 5, 5, 5, 100}, map[float64]time.Duration{50: 5, 80: 5, 80.1: 100, 99: 100}},
		{"single 50ms", []time.Duration{50 * time.Millisecond}, map[float64]time.Duration{50: 50 * time.Millisecond, 99.9: 50 * time.Millisecond}},
		{"two far apart", []time.Duration{time.Millisecond, time.Second}, map[float64]time.Duration{0: time.Millisecond, 50.1: time.Second, 99: time.Second}},
		{"zero and negative", []time.Duration{-5, 0, 0, 10}, map[float64]time.Duration{0: 0, 50: 0, 75: 0, 99: 10}},
		{"empty", nil, map[float64]time.Duration{50: 0, 99: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHistogram()
			for _, s := range tc.samples {
				h.Record(s)
			}
			for p, want := range tc.want {
				if got := h.Percentile(p); got != want {
					t.Errorf("p%v = %v, want %v", p, int64(got), int64(want))
				}
			}
		})
	}
}

func reverse(s []time.Duration) []time.Duration { slices.Reverse(s); return s }

func TestHistogramMinMaxMeanCount(t *testing.T) {
	h := NewHistogram()
	for _, d := range []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond, 90 * time.Minute} {
		h.Record(d)
	}
	if h.Count() != 4 || h.Min() != time.Millisecond || h.Max() != 90*time.Minute {
		t.Fatalf("count %d min %v max %v", h.Count(), h.Min(), h.Max())
	}
	if want := (6*time.Millisecond + 90*time.Minute) / 4; h.Mean() != want {
		t.Fatalf("mean %v, want %v", h.Mean(), want)
	}
	// 90 minutes is beyond the tracked range: the top percentile is still exact.
	if h.Percentile(99) != 90*time.Minute {
		t.Fatalf("p99 %v", h.Percentile(99))
	}
}

func TestBucketLayout(t *testing.T) {
	// Every value falls into a bucket whose bounds contain it, and buckets
	// are contiguous and at most 1/256 of their lower bound wide.
	prevHi := int64(-1)
	for i := range numBuckets {
		lo, hi := bucketBounds(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, lo, prevHi)
		}
		if i >= subCount && float64(hi-lo+1) > float64(lo)/subCount {
			t.Fatalf("bucket %d [%d,%d] too wide", i, lo, hi)
		}
		if bucketIndex(lo) != i || bucketIndex(hi) != i {
			t.Fatalf("bucket %d [%d,%d]: index(lo)=%d index(hi)=%d", i, lo, hi, bucketIndex(lo), bucketIndex(hi))
		}
		prevHi = hi
	}
	if prevHi != maxTrackable {
		t.Fatalf("last bucket ends at %d, want %d", prevHi, maxTrackable)
	}
}

// The histogram's percentiles stay within 1 % of the exact nearest-rank
// percentile of the sorted samples, and never below it.
func TestHistogramAccuracy(t *testing.T) {
	const n = 100_000
	dists := map[string]func(r *rand.Rand) time.Duration{
		"uniform 1µs-1s": func(r *rand.Rand) time.Duration {
			return time.Microsecond + time.Duration(r.Int64N(int64(time.Second)))
		},
		"lognormal ~1ms": func(r *rand.Rand) time.Duration {
			return time.Duration(math.Exp(r.NormFloat64()*1.5) * float64(time.Millisecond))
		},
		"exponential 200µs": func(r *rand.Rand) time.Duration {
			return time.Duration(r.ExpFloat64() * float64(200*time.Microsecond))
		},
		"bimodal": func(r *rand.Rand) time.Duration {
			if r.IntN(100) == 0 {
				return 40*time.Millisecond + time.Duration(r.Int64N(int64(20*time.Millisecond)))
			}
			return 300*time.Microsecond + time.Duration(r.Int64N(int64(100*time.Microsecond)))
		},
	}
	// Percentiles in thousandths, so the reference rank is pure integer math.
	pMilli := []int64{1000, 10000, 25000, 50000, 75000, 90000, 99000, 99900, 99990}
	for name, gen := range dists {
		for seed := range uint64(3) {
			r := rand.New(rand.NewPCG(seed, 42))
			h := NewHistogram()
			samples := make([]time.Duration, n)
			for i := range samples {
				samples[i] = gen(r)
				h.Record(samples[i])
			}
			slices.Sort(samples)
			for _, pm := range pMilli {
				rank := (pm*n + 100_000 - 1) / 100_000 // ceil(p/100·n)
				exact := samples[rank-1]
				got := h.Percentile(float64(pm) / 1000)
				rel := math.Abs(float64(got-exact)) / float64(exact)
				if rel > 0.01 {
					t.Errorf("%s seed %d p%v: histogram %v, exact %v, relative error %.4f > 1%%", name, seed, float64(pm)/1000, got, exact, rel)
				}
				if got < exact {
					t.Errorf("%s seed %d p%v: histogram %v understates exact %v", name, seed, float64(pm)/1000, got, exact)
				}
			}
			if h.Max() != samples[n-1] || h.Min() != samples[0] {
				t.Errorf("%s: min/max %v/%v, want %v/%v", name, h.Min(), h.Max(), samples[0], samples[n-1])
			}
		}
	}
}
