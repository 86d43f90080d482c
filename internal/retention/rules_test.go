package retention_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gigvault/internal/app"
	"gigvault/internal/retention"
	"gigvault/internal/testenv"
)

// tableRow is one planted row of a table other than pi_values.
type tableRow struct {
	table, keyCol, key string
	due                bool // deleted by a sweep now
	held               bool // due but for its subject's legal hold
}

// tablePlant is what plantTables planted.
type tablePlant struct {
	rows []tableRow
	due  map[string]int64 // "table//reason" → rows due now
	hold string           // the held subject's hold
}

// plantTables plants, for every rule over a table other than pi_values,
// one row just past its boundary (due) and one just short of it (kept),
// plus rows that other conditions keep, and for rules whose rows name a
// subject a due row of a subject under a legal hold.
func plantTables(v *env, now time.Time) tablePlant {
	v.t.Helper()
	us := func(t time.Time) int64 { return t.UnixMicro() }
	const µs = time.Microsecond
	grace := retention.DefaultGrace
	ss := v.subjects(2)
	free, held := ss[0], ss[1]
	p := tablePlant{due: map[string]int64{}, hold: v.hold(held)}
	add := func(table, keyCol, key string, due, isHeld bool) {
		p.rows = append(p.rows, tableRow{table, keyCol, key, due, isHeld})
	}

	// sms_codes: expired and out of the 24h window.
	for _, c := range []struct {
		id               string
		created, expires time.Time
		due              bool
	}{
		{"sms-due", now.Add(-day), now.Add(-day + 5*time.Minute), true},
		{"sms-young", now.Add(-day + µs), now.Add(-day + 5*time.Minute + µs), false},
		{"sms-unexpired", now.Add(-2 * day), now.Add(µs), false},
		{"sms-live", now.Add(-time.Minute), now.Add(4 * time.Minute), false},
	} {
		v.exec(`INSERT INTO sms_codes (id, number_tag, purpose, code_tag, created_at, expires_at, tries) VALUES (?, ?, 'login', ?, ?, ?, 0)`,
			c.id, []byte("tag-"+c.id), []byte("code-"+c.id), us(c.created), us(c.expires))
		add("sms_codes", "id", c.id, c.due, false)
	}

	// sessions: revoked or expired more than the grace ago.
	for _, a := range []struct{ id, subject string }{{"acc-free", free}, {"acc-held", held}} {
		v.exec(`INSERT INTO accounts (id, kind, subject_id, status, created_at, last_active_at) VALUES (?, 'worker', ?, 'active', ?, ?)`,
			a.id, a.subject, us(now.Add(-400*day)), us(now))
	}
	for _, s := range []struct {
		id, account      string
		expires, revoked time.Time
		due, held        bool
	}{
		{"ses-revoked-due", "acc-free", now.Add(100 * day), now.Add(-grace), true, false},
		{"ses-revoked-young", "acc-free", now.Add(100 * day), now.Add(-grace + µs), false, false},
		{"ses-expired-due", "acc-free", now.Add(-grace), time.Time{}, true, false},
		{"ses-expired-young", "acc-free", now.Add(-grace + µs), time.Time{}, false, false},
		{"ses-live", "acc-free", now.Add(day), time.Time{}, false, false},
		{"ses-held", "acc-held", now.Add(-2 * grace), now.Add(-2 * grace), false, true},
	} {
		var revoked any
		if !s.revoked.IsZero() {
			revoked = us(s.revoked)
		}
		v.exec(`INSERT INTO sessions (id, token_hash, account_id, created_at, last_seen_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			s.id, []byte("tok-"+s.id), s.account, us(now.Add(-300*day)), us(now.Add(-200*day)), us(s.expires), revoked)
		add("sessions", "id", s.id, s.due, s.held)
	}

	// auth_lockouts: lock over and first failure more than a day old.
	for _, l := range []struct {
		key           string
		first, locked time.Time
		due           bool
	}{
		{"lock-due", now.Add(-day), now.Add(-day + 15*time.Minute), true},
		{"lock-young", now.Add(-day + µs), now.Add(-time.Hour), false},
		{"lock-locked", now.Add(-2 * day), now.Add(µs), false},
	} {
		v.exec(`INSERT INTO auth_lockouts (key_tag, failures, first_failure_at, locked_until) VALUES (?, 5, ?, ?)`,
			[]byte(l.key), us(l.first), us(l.locked))
		add("auth_lockouts", "key_tag", l.key, l.due, false)
	}

	// org_invites: expired and out of the day's invitation window.
	v.exec(`INSERT INTO organisations (id, name, uscc, created_at) VALUES ('org-1', '示例公司', '91350100MA2XXXXX0X', ?)`, us(now.Add(-800*day)))
	for _, i := range []struct {
		tag              string
		created, expires time.Time
		due              bool
	}{
		{"inv-due", now.Add(-7 * day), now, true},
		{"inv-live", now.Add(-7 * day), now.Add(µs), false},
		{"inv-young", now.Add(-day + µs), now.Add(-µs), false},
	} {
		v.exec(`INSERT INTO org_invites (number_tag, org_id, invited_by, created_at, expires_at) VALUES (?, 'org-1', 'acc-free', ?, ?)`,
			[]byte(i.tag), us(i.created), us(i.expires))
		add("org_invites", "number_tag", i.tag, i.due, false)
	}

	// calendar_feeds: revoked more than the grace ago.
	for _, f := range []struct {
		tag, subject string
		revoked      time.Time
		due, held    bool
	}{
		{"feed-due", free, now.Add(-grace), true, false},
		{"feed-young", free, now.Add(-grace + µs), false, false},
		{"feed-live", free, time.Time{}, false, false},
		{"feed-held", held, now.Add(-2 * grace), false, true},
	} {
		var revoked any
		if !f.revoked.IsZero() {
			revoked = us(f.revoked)
		}
		v.exec(`INSERT INTO calendar_feeds (token_hash, subject_id, created_at, revoked_at) VALUES (?, ?, ?, ?)`,
			[]byte(f.tag), f.subject, us(now.Add(-400*day)), revoked)
		add("calendar_feeds", "token_hash", f.tag, f.due, f.held)
	}

	// applications: closed, and last changed a year (the catalog's
	// job_application) ago; not referred to by a contract.
	cut := now.AddDate(-1, 0, 0)
	for _, r := range []struct{ id, subject string }{{"res-free", free}, {"res-held", held}} {
		v.exec(`INSERT INTO resumes (id, subject_id, visibility, created_at, updated_at) VALUES (?, ?, 'private', ?, ?)`,
			r.id, r.subject, us(now.Add(-800*day)), us(now.Add(-800*day)))
	}
	for i, a := range []struct {
		id, subject, resume, status string
		updated                     time.Time
		due, held                   bool
	}{
		{"app-due", free, "res-free", "completed", cut, true, false},
		{"app-young", free, "res-free", "rejected", cut.Add(µs), false, false},
		{"app-open", free, "res-free", "accepted", cut.Add(-day), false, false},
		{"app-contract", free, "res-free", "completed", cut.Add(-day), false, false},
		{"app-withdrawn-due", free, "res-free", "withdrawn", cut.Add(-day), true, false},
		{"app-held", held, "res-held", "rejected", cut.Add(-day), false, true},
	} {
		job := "job-" + a.id
		v.exec(`INSERT INTO jobs (id, org_id, title, description, city, category, pay_fen, pay_unit, status, created_by, created_at)
			VALUES (?, 'org-1', '服务员', '餐厅服务', '福州', 'catering', 2500, 'hour', 'open', 'acc-x', ?)`, job, us(now.Add(-800*day)))
		v.exec(`INSERT INTO applications (id, job_id, org_id, subject_id, resume_id, status, consent_ref, ledger_id, created_at, updated_at)
			VALUES (?, ?, 'org-1', ?, ?, ?, 'consent-x', ?, ?, ?)`,
			a.id, job, a.subject, a.resume, a.status, "ledger-"+a.id, us(now.Add(-time.Duration(500+i)*day)), us(a.updated))
		add("applications", "id", a.id, a.due, a.held)
	}
	v.exec(`INSERT INTO contract_templates (id, name, version, body, variables, created_by, created_at) VALUES ('tpl-1', '劳务协议', 1, '<p/>', '[]', 'staff:x', ?)`,
		us(now.Add(-800*day)))
	v.exec(`INSERT INTO contracts (id, template_id, application_id, org_id, subject_id, status, variables, valid_from, valid_until, created_by, created_at, updated_at)
		VALUES ('con-1', 'tpl-1', 'app-contract', 'org-1', ?, 'signed', '{}', ?, ?, 'acc-x', ?, ?)`,
		free, us(now.Add(-500*day)), us(now.Add(-450*day)), us(now.Add(-500*day)), us(now.Add(-500*day)))

	// outbound_deliveries: delivered a year ago.
	for _, o := range []struct {
		id, subject, status string
		delivered           time.Time
		due, held           bool
	}{
		{"out-due", free, "delivered", now.AddDate(-1, 0, 0), true, false},
		{"out-young", free, "delivered", now.AddDate(-1, 0, 0).Add(µs), false, false},
		{"out-failed", free, "failed", time.Time{}, false, false},
		{"out-held", held, "delivered", now.AddDate(-2, 0, 0), false, true},
	} {
		var delivered any
		if !o.delivered.IsZero() {
			delivered = us(o.delivered)
		}
		v.exec(`INSERT INTO outbound_deliveries (id, kind, request_id, subject_id, recipient, recipient_kind, status, next_at, delivered_at, created_at)
			VALUES (?, 'deletion_notice', 'req-1', ?, 'tp-1', 'recipient', ?, ?, ?, ?)`,
			o.id, o.subject, o.status, us(now.Add(-800*day)), delivered, us(now.Add(-800*day)))
		add("outbound_deliveries", "id", o.id, o.due, o.held)
	}

	// retained_records: statutory period over.
	for _, r := range []struct {
		id      string
		expires time.Time
		due     bool
	}{
		{"ret-due", now, true},
		{"ret-live", now.Add(µs), false},
	} {
		v.exec(`INSERT INTO retained_records (id, class, bundle, sealed, created_day, expires_at) VALUES (?, 'transactions', 'b-1', ?, 20000, ?)`,
			r.id, []byte{1, 2, 3}, us(r.expires))
		add("retained_records", "id", r.id, r.due, false)
	}

	reasons := map[string]string{"sms_codes": "expired", "sessions": "ended", "auth_lockouts": "over", "org_invites": "expired",
		"calendar_feeds": "revoked", "applications": "closed", "outbound_deliveries": "delivered", "retained_records": "statutory_period_over"}
	for _, r := range p.rows {
		if r.due {
			p.due[r.table+"//"+reasons[r.table]]++
		}
	}
	return p
}

// present reports whether a planted row is still there.
func (v *env) present(r tableRow) bool {
	var key any = r.key
	if r.keyCol == "key_tag" || r.keyCol == "number_tag" || r.keyCol == "token_hash" {
		key = []byte(r.key)
	}
	return v.count(`SELECT COUNT(*) FROM `+r.table+` WHERE `+r.keyCol+` = ?`, key) == 1
}

// Every rule over a table other than pi_values, with one row on each side
// of its boundary: the due ones go, the others stay; a held subject's due
// rows stay until the hold is released.
func TestTableRules(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, nil)
			p := plantTables(v, v.clk.Now())
			s := v.sweeper(retention.Options{BatchSize: 2})
			plan, err := s.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(p.due, groupCounts(plan)); diff != "" {
				t.Fatalf("plan (-want +got):\n%s", diff)
			}
			rep := mustRun(t, s)
			if diff := cmp.Diff(p.due, groupCounts(rep.Groups)); diff != "" {
				t.Fatalf("run (-want +got):\n%s", diff)
			}
			for _, r := range p.rows {
				if got := v.present(r); got == r.due {
					t.Errorf("%s %s: present = %v after the sweep", r.table, r.key, got)
				}
			}
			withSubjects := map[string]bool{"sessions": true, "calendar_feeds": true, "applications": true, "outbound_deliveries": true}
			for _, en := range v.entries() {
				rule := en.Detail["rule"]
				if len(en.Fields) != 0 || en.Detail["rows"] == "" || en.Detail["method"] == "" || en.Detail["retention"] == "" {
					t.Errorf("%s entry %+v", rule, en)
				}
				if _, ok := en.Detail["subjects"]; ok != withSubjects[rule] {
					t.Errorf("%s entry: subjects %q", rule, en.Detail["subjects"])
				}
			}
			if got := v.entries()[0].Detail["method"]; got != methodPrefix(e)+" after the code's expiry and the 24h send-limit window" {
				t.Errorf("method %q", got)
			}

			// The hold released, the held subject's due rows go.
			v.release(p.hold)
			rep = mustRun(t, s)
			want := map[string]int64{"sessions//ended": 1, "calendar_feeds//revoked": 1, "applications//closed": 1, "outbound_deliveries//delivered": 1}
			if diff := cmp.Diff(want, groupCounts(rep.Groups)); diff != "" {
				t.Fatalf("after the release (-want +got):\n%s", diff)
			}
			for _, r := range p.rows {
				if r.held && v.present(r) {
					t.Errorf("%s %s outlived the released hold", r.table, r.key)
				}
			}
			v.verifyAudit()
		})
	}
}

// The applications rule is off when the catalog gives job_application no
// fixed retention.
func TestApplicationsRuleFollowsCatalog(t *testing.T) {
	e := testenv.Engines(t)[0]
	file := catalogWith(t, map[string]string{"job_application": "account"})
	v := newEnv(t, e, func(c *app.Config) { c.CatalogFile = file })
	p := plantTables(v, v.clk.Now())
	rep := mustRun(t, v.sweeper(retention.Options{}))
	if n := groupCounts(rep.Groups)["applications//closed"]; n != 0 {
		t.Fatalf("deleted %d applications under account retention", n)
	}
	for _, r := range p.rows {
		if r.table == "applications" && !v.present(r) {
			t.Fatalf("application %s deleted", r.key)
		}
	}
}
