package retention

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"gigvault/internal/obs"
)

// metrics are the sweeper's counters since it was made.
type metrics struct {
	deleted     map[string]*atomic.Uint64 // by rule; the set is fixed at New
	lastSuccess atomic.Int64              // Unix µs of the last finished run; 0 = none
}

func (m *metrics) init(rules []string) {
	m.deleted = make(map[string]*atomic.Uint64, len(rules))
	for _, r := range rules {
		m.deleted[r] = new(atomic.Uint64)
	}
}

func (m *metrics) add(rule string, n int64) {
	if c, ok := m.deleted[rule]; ok {
		c.Add(uint64(n))
	}
}

// Deleted returns how many rows this Sweeper deleted, per rule (every rule
// of Rules, zero included).
func (s *Sweeper) Deleted() map[string]uint64 {
	out := make(map[string]uint64, len(s.m.deleted))
	for r, c := range s.m.deleted {
		out[r] = c.Load()
	}
	return out
}

// LastSuccess returns when this Sweeper's last run finished without error
// (skipped runs do not count), or the zero time.
func (s *Sweeper) LastSuccess() time.Time {
	us := s.m.lastSuccess.Load()
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// RegisterMetrics exposes the sweeper on m:
// gigvault_retention_deleted_total{rule} (rows deleted by this process) and
// gigvault_retention_last_success_timestamp_seconds (0 until a run of this
// process finishes; alert when it falls behind the sweep interval).
func (s *Sweeper) RegisterMetrics(m *obs.Metrics) {
	for _, r := range Rules() {
		c := s.m.deleted[r]
		m.CounterFunc("gigvault_retention_deleted_total", "Rows deleted by the retention sweeper, by rule (RET-1).",
			prometheus.Labels{"rule": r}, func() float64 { return float64(c.Load()) })
	}
	m.GaugeFunc("gigvault_retention_last_success_timestamp_seconds",
		"When the retention sweeper last finished a run without error, as a Unix time; 0 before the first.",
		nil, func() float64 { return float64(s.m.lastSuccess.Load()) / 1e6 })
}
