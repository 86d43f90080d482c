package rights_test

import (
	"context"
	"testing"
	"time"

	"gigvault/internal/audit"
	"gigvault/internal/calendar"
	"gigvault/internal/clock"
	"gigvault/internal/obs"
	"gigvault/internal/rights"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
)

var ctx = context.Background()

func cst(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, calendar.CST)
}

// TestDeadlineClock: a request received before the 2025 National Day break
// is reminded on the right working day, once; becomes overdue at the end of
// its due date, in the queue and in the gauge; an extension moves both and
// is recorded; an unconfirmed cancellation lapses.
func TestDeadlineClock(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			cfg := e.Config(t)
			clk := cfg.Clock.(*clock.Fake)
			clk.Set(cst(2025, 9, 26, 10, 0))
			c := testenv.Open(t, cfg)
			subs := testenv.Subjects(t, c, "worker", 2)
			s := c.Rights
			m := obs.NewMetrics()
			s.RegisterMetrics(m)
			gauge := func() float64 {
				return gaugeValue(t, m, "gigvault_rights_requests_overdue")
			}
			var req rights.Request
			create := func(subject string, st rights.Status) rights.Request {
				id, _ := rights.NewID()
				var r rights.Request
				err := c.DB.InTx(ctx, func(tx *store.Tx) error {
					var err error
					r, err = s.Create(ctx, tx, id, rights.New{Subject: subject, Kind: rights.Complaint, Category: "privacy", Status: st, VerifiedWith: "sms"}, "worker:test", "api")
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			req = create(subs[0], rights.Open)
			if req.DueDate != "2025-10-23" {
				t.Fatalf("due date %s", req.DueDate)
			}
			tick := func(at time.Time) rights.TickReport {
				t.Helper()
				clk.Set(at)
				rep, err := s.Tick(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				return rep
			}
			if rep := tick(cst(2025, 10, 17, 23, 59)); rep.Reminded != 0 || rep.Overdue != 0 {
				t.Fatalf("the Friday before the reminder day: %+v", rep)
			}
			if rep := tick(cst(2025, 10, 20, 0, 0)); rep.Reminded != 1 {
				t.Fatalf("the reminder day (3 working days before 23 Oct): %+v", rep)
			}
			if rep := tick(cst(2025, 10, 20, 9, 0)); rep.Reminded != 0 {
				t.Fatalf("a second reminder: %+v", rep)
			}
			es, err := audit.Search(ctx, c.DB, audit.Filter{Action: "rights.reminder"})
			if err != nil || len(es) != 1 || es[0].Detail["request"] != req.ID || es[0].Detail["working_days_left"] != "3" {
				t.Fatalf("reminder audit: %+v, %v", es, err)
			}
			if rep := tick(cst(2025, 10, 23, 23, 59)); rep.Overdue != 0 || gauge() != 0 {
				t.Fatalf("on the due date: %+v gauge %v", rep, gauge())
			}
			if rep := tick(cst(2025, 10, 24, 0, 0)); rep.Overdue != 1 || gauge() != 1 {
				t.Fatalf("the day after: %+v gauge %v", rep, gauge())
			}
			q, err := s.Queue(ctx, rights.Filter{Overdue: true})
			if err != nil || len(q) != 1 || q[0].ID != req.ID {
				t.Fatalf("overdue queue: %+v, %v", q, err)
			}
			// An extension: a recorded reason, 5 more working days (to 30
			// Oct), a fresh reminder on 27 Oct.
			err = c.DB.InTx(ctx, func(tx *store.Tx) error {
				cur, err := s.Get(ctx, tx, req.ID)
				if err != nil {
					return err
				}
				req, err = s.Extend(ctx, tx, cur, 5, "需要调取历史记录", "staff:test")
				return err
			})
			if err != nil || req.DueDate != "2025-10-30" || req.ExtensionReason != "需要调取历史记录" {
				t.Fatalf("extend: %+v, %v", req, err)
			}
			if gauge() != 0 {
				t.Fatalf("gauge after extension %v", gauge())
			}
			err = c.DB.InTx(ctx, func(tx *store.Tx) error {
				cur, _ := s.Get(ctx, tx, req.ID)
				_, err := s.Extend(ctx, tx, cur, 1, "再次延期申请", "staff:test")
				return err
			})
			if err == nil {
				t.Fatal("a second extension was accepted")
			}
			if rep := tick(cst(2025, 10, 24, 12, 0)); rep.Reminded != 0 {
				t.Fatalf("reminded before the new reminder day: %+v", rep)
			}
			if rep := tick(cst(2025, 10, 27, 0, 0)); rep.Reminded != 1 {
				t.Fatalf("the new reminder day: %+v", rep)
			}
			// An unconfirmed cancellation lapses after a day.
			cr := create(subs[1], rights.Confirming)
			_ = cr
			if rep := tick(cst(2025, 10, 27, 23, 0)); rep.Lapsed != 0 {
				t.Fatalf("lapsed early: %+v", rep)
			}
			if rep := tick(cst(2025, 10, 28, 0, 1)); rep.Lapsed != 1 {
				t.Fatalf("not lapsed: %+v", rep)
			}
			got, err := s.Get(ctx, c.DB, cr.ID)
			if err != nil || got.Status != rights.Withdrawn || got.Outcome != "confirmation_lapsed" {
				t.Fatalf("lapsed cancellation: %+v, %v", got, err)
			}
			if rep, err := c.Audit.Verify(ctx, c.DB, nil); err != nil || !rep.OK() {
				t.Fatalf("audit verify: %+v, %v", rep, err)
			}
		})
	}
}

// gaugeValue reads one gauge from the registry, as a scrape would.
func gaugeValue(t *testing.T, m *obs.Metrics, name string) float64 {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}
