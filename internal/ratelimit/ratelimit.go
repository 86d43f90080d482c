// Package ratelimit is a keyed, in-memory rate limiter for HTTP handlers:
// per-IP, per-user and per-phone-number limits.
//
// It implements GCRA (the generic cell rate algorithm), which behaves like a
// token bucket of Limit.Events tokens refilled evenly over Limit.Per, but
// stores a single int64 per key: the key's "theoretical arrival time" (TAT),
// the instant at which its bucket would be full again. Time comes from an
// injected clock.Clock so limits are tested without sleeping.
//
// Keys are held in memory only, in 64 mutex-guarded shards chosen by a
// seeded hash of the key, and memory is bounded by maxKeys (see New for how
// keys are evicted). Nothing is persisted and nothing is logged: the
// limiter never writes a key anywhere. Even so, a key that is personal
// information — an IP address, a mobile number — should be passed as a keyed
// digest (for example an HMAC of the number under a server secret) rather
// than in clear, so that a heap dump or a debugging print of the limiter
// reveals nothing.
package ratelimit

import (
	"hash/maphash"
	"math"
	"slices"
	"sync"
	"time"

	"gigvault/internal/clock"
)

// Limit is a rate: a burst of Events, refilled evenly over Per. For example
// Limit{Events: 5, Per: time.Minute} allows five events at once, then one
// more every 12 seconds. A zero Limit (Events <= 0) — or one with Per <= 0 —
// is unlimited.
type Limit struct {
	Events int
	Per    time.Duration
}

// unlimited reports whether l places no limit at all.
func (l Limit) unlimited() bool { return l.Events <= 0 || l.Per <= 0 }

// defaultMaxKeys is the key bound New uses when given maxKeys <= 0.
const defaultMaxKeys = 100000

// maxShards is the number of shards of a limiter with at least that many keys.
const maxShards = 64

// never is the retryAfter of a request that can never succeed (AllowN with
// n greater than Limit.Events).
const never = time.Duration(math.MaxInt64)

// Limiter is a keyed GCRA rate limiter. It is safe for concurrent use.
type Limiter struct {
	limit    Limit
	clk      clock.Clock
	interval int64 // emission interval: Per / Events, in nanoseconds, >= 1
	tau      int64 // burst capacity: Events * interval, in nanoseconds
	perShard int   // at most this many keys per shard
	seed     maphash.Seed
	shards   []shard
}

type shard struct {
	mu  sync.Mutex
	tat map[string]int64 // key -> theoretical arrival time, Unix nanoseconds
	_   [48]byte         // keep neighbouring shards' locks off one cache line
}

// New returns a limiter applying l to every key, reading time from clk
// (clock.Real{} if nil).
//
// maxKeys bounds memory: the limiter never holds more than maxKeys keys
// (100000 if maxKeys <= 0). Each shard holds its share of them; when
// a new key arrives at a full shard, the shard first drops keys whose TAT is
// already in the past — their buckets are full, so they are exactly
// equivalent to keys never seen — and, if it is still full, drops the keys
// with the oldest TATs (the buckets closest to full). Eviction can therefore
// only make the limiter more lenient for the evicted keys, never stricter for
// anyone: size maxKeys above the number of keys expected to be limited at the
// same time.
func New(l Limit, clk clock.Clock, maxKeys int) *Limiter {
	if clk == nil {
		clk = clock.Real{}
	}
	if maxKeys <= 0 {
		maxKeys = defaultMaxKeys
	}
	lim := &Limiter{limit: l, clk: clk, seed: maphash.MakeSeed()}
	if l.unlimited() {
		return lim
	}
	lim.interval = max(int64(l.Per)/int64(l.Events), 1)
	if int64(l.Events) > math.MaxInt64/lim.interval {
		lim.tau = math.MaxInt64
	} else {
		lim.tau = lim.interval * int64(l.Events)
	}
	n := min(maxShards, maxKeys)
	lim.perShard = maxKeys / n
	lim.shards = make([]shard, n)
	for i := range lim.shards {
		lim.shards[i].tat = make(map[string]int64)
	}
	return lim
}

// Allow reports whether one event for key may happen now and, if it may,
// records it. When it may not, retryAfter is the time until one event will be
// allowed (always > 0).
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	return l.AllowN(key, 1)
}

// AllowN is Allow for n events at once: all n are allowed and recorded, or
// none is. n <= 0 is always allowed and records nothing. n greater than
// Limit.Events can never be allowed; it is refused with retryAfter set to
// the maximum Duration.
func (l *Limiter) AllowN(key string, n int) (bool, time.Duration) {
	return l.take(key, n, true)
}

// Peek reports whether Allow(key) would succeed now, and if not the time
// until it would, without recording anything.
func (l *Limiter) Peek(key string) (ok bool, retryAfter time.Duration) {
	return l.take(key, 1, false)
}

// Reset forgets key, giving it a full bucket.
func (l *Limiter) Reset(key string) {
	if l.limit.unlimited() {
		return
	}
	s := l.shard(key)
	s.mu.Lock()
	delete(s.tat, key)
	s.mu.Unlock()
}

// Len returns the number of keys held, including keys whose buckets have
// refilled but have not been dropped yet. It is at most maxKeys.
func (l *Limiter) Len() int {
	total := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		total += len(s.tat)
		s.mu.Unlock()
	}
	return total
}

// take is Allow, AllowN and Peek: commit says whether to record the events.
func (l *Limiter) take(key string, n int, commit bool) (bool, time.Duration) {
	if l.limit.unlimited() || n <= 0 {
		return true, 0
	}
	if n > l.limit.Events {
		return false, never
	}
	now := l.clk.Now().UnixNano()
	inc := int64(n) * l.interval // no overflow: n <= Events
	s := l.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	tat, found := s.tat[key]
	if !found || tat < now {
		tat = now
	}
	newTAT := tat + inc
	if over := newTAT - now - l.tau; over > 0 {
		return false, time.Duration(over)
	}
	if commit {
		if !found && len(s.tat) >= l.perShard {
			s.evict(now, l.perShard)
		}
		s.tat[key] = newTAT
	}
	return true, 0
}

func (l *Limiter) shard(key string) *shard {
	return &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
}

// evict makes room for one new key in a shard holding at least limit keys,
// the shard's lock held. It drops every key whose bucket is full again (TAT
// not after now); if that frees nothing, it drops the oldest-TAT eighth of
// the shard (at least one key), so that the sort is paid for once per many
// insertions.
func (s *shard) evict(now int64, limit int) {
	for k, t := range s.tat {
		if t <= now {
			delete(s.tat, k)
		}
	}
	if len(s.tat) < limit {
		return
	}
	drop := max(len(s.tat)-limit+1, limit/8, 1)
	tats := make([]int64, 0, len(s.tat))
	for _, t := range s.tat {
		tats = append(tats, t)
	}
	slices.Sort(tats)
	cut := tats[drop-1] // drop keys with TAT <= cut, but no more than drop
	for k, t := range s.tat {
		if drop == 0 {
			break
		}
		if t <= cut {
			delete(s.tat, k)
			drop--
		}
	}
}

// RetryAfterSeconds converts a retryAfter duration to the value of an HTTP
// Retry-After header: whole seconds, rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) int {
	if d <= 0 {
		return 1
	}
	s := d / time.Second
	if d%time.Second != 0 {
		s++
	}
	if int64(s) > math.MaxInt32 {
		return math.MaxInt32 // fits any int and any header parser
	}
	return max(int(s), 1)
}
