package jobs_test

import (
	"slices"
	"testing"
	"time"

	"gigvault/internal/errs"
	"gigvault/internal/jobs"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
)

func at(lat, lng float64) (*float64, *float64) { return &lat, &lng }

// TestNearby: the jobs within the radius, nearest first, closed and
// coordinate-less jobs left out; bad positions and radii refused.
func TestNearby(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			org := v.org(t, "org-a")
			mk := func(title string, lat, lng float64) jobs.Job {
				v.clk.Advance(time.Second)
				j := job(org, title)
				j.Lat, j.Lng = at(lat, lng)
				return v.post(t, j)
			}
			// Around Shenzhen Civic Centre (22.5431, 114.0579).
			near := mk("近处", 22.5440, 114.0590)    // ~150 m
			mid := mk("中距离", 22.5600, 114.0579)    // ~1.9 km
			across := mk("跨网格", 22.5431, 114.1000) // ~4.3 km, another cell
			far := mk("远处", 22.7000, 114.0579)     // ~17 km
			closed := mk("已关闭", 22.5432, 114.0580) // nearest, but closed
			if err := v.st.Close(ctx, org, closed.ID); err != nil {
				t.Fatal(err)
			}
			v.post(t, job(org, "无坐标"))
			got, err := v.st.Nearby(ctx, jobs.NearbyQuery{Lat: 22.5431, Lng: 114.0579, RadiusKm: 5})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, j := range got {
				names = append(names, j.Title)
			}
			if !slices.Equal(names, []string{near.Title, mid.Title, across.Title}) {
				t.Fatalf("within 5 km: %v", names)
			}
			if d := got[1].DistanceM; d < 1700 || d > 2100 {
				t.Errorf("distance to %s: %d m", mid.Title, d)
			}
			got, _ = v.st.Nearby(ctx, jobs.NearbyQuery{Lat: 22.5431, Lng: 114.0579, RadiusKm: 20, Limit: 10})
			if len(got) != 4 || got[3].ID != far.ID {
				t.Errorf("within 20 km: %d jobs", len(got))
			}
			for _, q := range []jobs.NearbyQuery{{Lat: 91, Lng: 114}, {Lat: 22, Lng: 181}, {Lat: 22, Lng: 114, RadiusKm: jobs.MaxRadiusKm + 1}, {Lat: 22, Lng: 114, Category: "spy"}} {
				if _, err := v.st.Nearby(ctx, q); errs.CodeOf(err) != errs.Invalid {
					t.Errorf("%+v: %v", q, err)
				}
			}
		})
	}
}

// TestJobSlotsAndWindow: slots are checked and stored; the date filter
// keeps jobs whose slots touch the dates, and flexible jobs always.
func TestJobSlotsAndWindow(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			org := v.org(t, "org-a")
			cst := time.FixedZone("CST", 8*3600)
			day := func(d, h int) time.Time { return time.Date(2026, 12, d, h, 0, 0, 0, cst) }
			j := job(org, "周末促销")
			j.Slots = []jobs.Slot{{Start: day(5, 9), End: day(5, 17)}, {Start: day(6, 9), End: day(6, 17)}}
			j.Place, j.HeadCount = "福田区某商场一楼", 3
			weekend := v.post(t, j)
			got, err := v.st.Job(ctx, weekend.ID)
			if err != nil || len(got.Slots) != 2 || !got.Slots[1].End.Equal(day(6, 17)) || got.HeadCount != 3 || got.Place != j.Place {
				t.Fatalf("read back %+v %v", got, err)
			}
			flexible := v.post(t, job(org, "灵活时间"))
			for _, c := range []struct {
				from, to string
				want     []string
			}{
				{"2026-12-05", "2026-12-05", []string{flexible.ID, weekend.ID}},
				{"2026-12-07", "", []string{flexible.ID}},
				{"", "2026-12-04", []string{flexible.ID}},
				{"2026-12-06", "2026-12-31", []string{flexible.ID, weekend.ID}},
			} {
				js, err := v.st.Search(ctx, jobs.Query{From: c.from, To: c.to})
				if err != nil || !slices.Equal(ids(js), c.want) {
					t.Errorf("from %q to %q: %v %v", c.from, c.to, titles(js), err)
				}
			}
			for _, bad := range [][]jobs.Slot{
				{{Start: day(5, 17), End: day(5, 9)}},
				{{Start: day(5, 9), End: day(6, 10)}},
				{{Start: day(6, 9), End: day(6, 17)}, {Start: day(5, 9), End: day(5, 17)}},
			} {
				j := job(org, "坏时段")
				j.Slots = bad
				if _, err := v.st.Post(ctx, j); errs.CodeOf(err) != errs.Invalid {
					t.Errorf("slots %v: %v", bad, err)
				}
			}
			if _, err := v.st.Search(ctx, jobs.Query{From: "2026-12-07", To: "2026-12-01"}); errs.CodeOf(err) != errs.Invalid {
				t.Errorf("to before from: %v", err)
			}
		})
	}
}

// TestApplicationLifecycle: interview, check-in (within the job's time),
// completion, contact acceptance and the one reveal, each only from the
// right status and by the right party.
func TestApplicationLifecycle(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			org := v.org(t, "org-a")
			other := v.org(t, "org-b")
			w := v.subject(t, "w-1")
			start := v.clk.Now().Add(48 * time.Hour)
			j := job(org, "活动执行")
			j.Slots = []jobs.Slot{{Start: start, End: start.Add(8 * time.Hour)}}
			posted := v.post(t, j)
			res := v.resume(t, w)
			a, err := v.apply(w, posted.ID, res.ID, "consent-1")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.st.Schedule(ctx, a.ID, org, start); errs.CodeOf(err) != errs.Conflict {
				t.Errorf("interview before acceptance: %v", err)
			}
			if _, err := v.st.SetStatus(ctx, a.ID, jobs.Accepted, org, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := v.st.Schedule(ctx, a.ID, other, start); errs.CodeOf(err) != errs.NotFound {
				t.Errorf("another organisation schedules: %v", err)
			}
			if _, err := v.st.Schedule(ctx, a.ID, org, v.clk.Now().Add(-time.Hour)); errs.CodeOf(err) != errs.Invalid {
				t.Errorf("an interview in the past: %v", err)
			}
			if a, err = v.st.Schedule(ctx, a.ID, org, start.Add(-24*time.Hour)); err != nil || a.InterviewAt == nil {
				t.Fatalf("schedule: %+v %v", a, err)
			}
			if _, err := v.st.CheckIn(ctx, a.ID, w); errs.CodeOf(err) != errs.Conflict {
				t.Errorf("check-in two days early: %v", err)
			}
			if _, err := v.st.Complete(ctx, a.ID, org); errs.CodeOf(err) != errs.Conflict {
				t.Errorf("completion before check-in: %v", err)
			}
			v.clk.Advance(48*time.Hour - jobs.CheckInEarly + time.Minute)
			if a, err = v.st.CheckIn(ctx, a.ID, w); err != nil || a.CheckedInAt == nil {
				t.Fatalf("check-in: %+v %v", a, err)
			}
			if _, err := v.st.SetStatus(ctx, a.ID, jobs.Withdrawn, "", w); errs.CodeOf(err) != errs.Conflict {
				t.Errorf("withdrawal after check-in: %v", err)
			}
			// Contact: masked until accepted, then one reveal.
			err = v.c.DB.InTx(ctx, func(tx *store.Tx) error { _, err := v.st.RevealContact(ctx, tx, a.ID, org, "employer:1"); return err })
			if errs.CodeOf(err) != errs.Forbidden {
				t.Errorf("reveal before acceptance: %v", err)
			}
			if _, err := v.st.AcceptContact(ctx, a.ID, "w-other"); errs.CodeOf(err) != errs.NotFound {
				t.Errorf("someone else accepts contact: %v", err)
			}
			if a, err = v.st.AcceptContact(ctx, a.ID, w); err != nil || a.ContactAcceptedAt == nil {
				t.Fatalf("accept contact: %v", err)
			}
			for i, want := range []errs.Code{"", errs.Conflict} {
				err = v.c.DB.InTx(ctx, func(tx *store.Tx) error { _, err := v.st.RevealContact(ctx, tx, a.ID, org, "employer:1"); return err })
				if errs.CodeOf(err) != want && !(want == "" && err == nil) {
					t.Errorf("reveal %d: %v", i+1, err)
				}
			}
			if a, err = v.st.Complete(ctx, a.ID, org); err != nil || a.Status != jobs.Completed || a.CompletedAt == nil {
				t.Fatalf("complete: %+v %v", a, err)
			}
			as, js, err := v.st.Calendar(ctx, w)
			if err != nil || len(as) != 1 || js[posted.ID].ID != posted.ID {
				t.Errorf("calendar: %d applications %v", len(as), err)
			}
		})
	}
}
