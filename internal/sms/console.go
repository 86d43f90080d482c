package sms

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"gigvault/internal/clock"
	"gigvault/internal/ratelimit"
)

// ConsoleOptions configures a Console gateway. The zero value is a fast,
// reliable gateway that logs nowhere.
type ConsoleOptions struct {
	Log     *slog.Logger  // where the code is shown; discarded if nil
	Clock   clock.Clock   // clock.Real{} if nil
	Latency time.Duration // simulated provider round trip per Send
	// FailRate is the fraction of otherwise valid sends, 0 to 1, that fail
	// with errs.Unavailable. Failures are drawn from a PRNG with a fixed
	// seed, so a sequence of sends fails the same way from run to run.
	FailRate float64
	// Capacity is the outbox size; the oldest message is dropped when it
	// is full. Default 1000.
	Capacity int
	// PerNumberPerMinute simulates a provider's throttle: at most this many
	// messages to one number per minute (as a burst refilled over the
	// minute); more fail with errs.RateLimited. 0 turns it off.
	PerNumberPerMinute int
}

// Sent is a message accepted by a Console gateway.
type Sent struct {
	Ref      string
	To       string
	Template string
	Params   map[string]string
	At       time.Time
}

// Console is a development Gateway. It validates messages as a real provider
// would, simulates latency, failures and throttling, keeps accepted messages
// in an in-memory outbox for tests and logs each one — code included — at
// Info. It must not be used in production, where it would put codes in the
// log.
type Console struct {
	log      *slog.Logger
	clk      clock.Clock
	latency  time.Duration
	failRate float64
	throttle *ratelimit.Limiter // nil when off

	mu     sync.Mutex
	rng    *rand.Rand
	outbox []Sent // ring
	next   int    // index of the next write
	full   bool
}

// consoleTemplates lists, per template, which parameters it requires
// (true) or allows (false). Any other parameter is refused.
var consoleTemplates = map[string]map[string]bool{
	TemplateLoginCode:  {ParamCode: true, ParamMinutes: false},
	TemplateVerifyCode: {ParamCode: true, ParamMinutes: false},
	TemplateSignIntent: {ParamCode: true, ParamMinutes: false},
	TemplateRights:     {ParamCode: true, ParamMinutes: false},
	TemplateCancel:     {ParamCode: true, ParamMinutes: false},
}

// NewConsole returns a Console gateway.
func NewConsole(o ConsoleOptions) *Console {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Capacity <= 0 {
		o.Capacity = 1000
	}
	switch {
	case math.IsNaN(o.FailRate) || o.FailRate < 0:
		o.FailRate = 0
	case o.FailRate > 1:
		o.FailRate = 1
	}
	c := &Console{
		log:      o.Log,
		clk:      o.Clock,
		latency:  max(o.Latency, 0),
		failRate: o.FailRate,
		rng:      rand.New(rand.NewPCG(0x676967, 0x7661756c74)),
		outbox:   make([]Sent, o.Capacity),
	}
	if o.PerNumberPerMinute > 0 {
		c.throttle = ratelimit.New(ratelimit.Limit{Events: o.PerNumberPerMinute, Per: time.Minute}, o.Clock, 0)
	}
	return c
}

// Name returns "console".
func (c *Console) Name() string { return "console" }

// Send simulates sending m: it waits Latency (returning errs.Unavailable if
// ctx ends first), validates m (errs.Invalid), applies the per-number
// throttle (errs.RateLimited) and the failure rate (errs.Unavailable), then
// records m in the outbox, logs it and returns a unique "console-" ref.
func (c *Console) Send(ctx context.Context, m Message) (string, error) {
	if err := c.wait(ctx); err != nil {
		return "", errUnavailable(err)
	}
	if err := validateConsole(m); err != nil {
		return "", err
	}
	if c.throttle != nil {
		if ok, _ := c.throttle.Allow(m.To); !ok {
			return "", errThrottled()
		}
	}
	ref := newRef("console-")
	s := Sent{Ref: ref, To: m.To, Template: m.Template, Params: maps.Clone(m.Params), At: c.clk.Now()}
	c.mu.Lock()
	if c.failRate > 0 && c.rng.Float64() < c.failRate {
		c.mu.Unlock()
		return "", errUnavailable(errors.New("console gateway: simulated provider failure"))
	}
	c.outbox[c.next] = s
	c.next++
	if c.next == len(c.outbox) {
		c.next, c.full = 0, true
	}
	c.mu.Unlock()
	// The code is shown deliberately: this gateway exists so that a
	// developer can log in without a phone. The number stays masked.
	c.log.InfoContext(ctx, "sms (console gateway)",
		slog.String("to", MaskMobile(m.To)),
		slog.String("template", m.Template),
		slog.String("code", m.Params[ParamCode]),
		slog.String("ref", ref))
	return ref, nil
}

// wait sleeps for the simulated latency, or until ctx ends.
func (c *Console) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.latency <= 0 {
		return nil
	}
	return sleep(ctx, c.latency)
}

// validateConsole checks m as a provider would.
func validateConsole(m Message) error {
	if !validMobile(m.To) {
		return errMobile()
	}
	spec, ok := consoleTemplates[m.Template]
	if !ok {
		return errTemplate()
	}
	for name, required := range spec {
		if v, ok := m.Params[name]; required && (!ok || v == "") {
			return errParams()
		}
	}
	for name, v := range m.Params {
		if _, ok := spec[name]; !ok {
			return errParams()
		}
		switch name {
		case ParamCode:
			if !validCode(v) {
				return errCode()
			}
		case ParamMinutes:
			if !validMinutes(v) {
				return errParams()
			}
		}
	}
	return nil
}

// Outbox returns the messages accepted for to, most recent first; to == ""
// returns every message. It holds at most Capacity messages; the returned
// values are copies.
func (c *Console) Outbox(to string) []Sent {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.next
	if c.full {
		n = len(c.outbox)
	}
	var out []Sent
	for i := range n {
		s := c.outbox[(c.next-1-i+len(c.outbox))%len(c.outbox)]
		if to == "" || s.To == to {
			s.Params = maps.Clone(s.Params)
			out = append(out, s)
		}
	}
	return out
}

var _ Gateway = (*Console)(nil)
