package jobs_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"gigvault/internal/errs"
	"gigvault/internal/jobs"
	"gigvault/internal/sharing"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
)

// resume creates a résumé of subject.
func (v env) resume(t *testing.T, subject string) jobs.Resume {
	t.Helper()
	var r jobs.Resume
	err := v.c.DB.InTx(ctx, func(tx *store.Tx) error {
		var err error
		r, err = v.st.CreateResume(ctx, tx, subject, jobs.Private)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// apply applies as the caller does: the sharing-ledger row of the résumé
// provision and the application in one transaction.
func (v env) apply(subject, jobID, resumeID, consent string) (jobs.Application, error) {
	ledger := sharing.New(v.c.DB, v.c.Catalog, v.c.Clock)
	var a jobs.Application
	err := v.c.DB.InTx(ctx, func(tx *store.Tx) error {
		j, err := v.st.Job(ctx, jobID)
		if err != nil {
			return err
		}
		lid, err := ledger.Append(ctx, tx, sharing.Provision{Recipient: j.OrgID, RecipientKind: "employer", Purpose: "resume_sharing",
			Fields: []string{"resume_text"}, Subjects: []string{subject}, Records: 1, LegalBasis: "consent", ConsentRef: consent,
			Actor: "worker:" + subject, Channel: "api"})
		if err != nil {
			return err
		}
		a, err = v.st.Apply(ctx, tx, jobs.Application{JobID: jobID, SubjectID: subject, ResumeID: resumeID, ConsentRef: consent, LedgerID: lid})
		return err
	})
	return a, err
}

func TestApply(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			orgA, orgB := v.org(t, "org-a"), v.org(t, "org-b")
			w1, w2 := v.subject(t, "w-1"), v.subject(t, "w-2")
			r1, r2 := v.resume(t, w1), v.resume(t, w2)
			j1 := v.post(t, job(orgA, "店员"))
			jb := v.post(t, job(orgB, "理货员"))

			v.clk.Advance(time.Minute)
			a, err := v.apply(w1, j1.ID, r1.ID, "consent-1")
			if err != nil {
				t.Fatal(err)
			}
			if a.ID == "" || a.OrgID != orgA || a.Status != jobs.Applied || a.ResumeID != r1.ID || a.ConsentRef != "consent-1" ||
				a.LedgerID == "" || !a.CreatedAt.Equal(v.clk.Now()) || !a.UpdatedAt.Equal(a.CreatedAt) {
				t.Fatalf("applied: %+v", a)
			}
			if got, err := v.st.Application(ctx, a.ID); err != nil || got != a {
				t.Fatalf("read back %+v %v, want %+v", got, err, a)
			}
			if rows, _ := sharing.New(v.c.DB, v.c.Catalog, v.c.Clock).BySubject(ctx, w1); len(rows) != 1 || rows[0].ID != a.LedgerID {
				t.Fatalf("ledger: %+v", rows)
			}

			// A second application for the same job is a conflict naming the first.
			_, err = v.apply(w1, j1.ID, r1.ID, "consent-2")
			if e := wantErr(t, "duplicate", err, errs.Conflict, "job_id"); e.Ref != a.ID {
				t.Errorf("duplicate names %q, want %q", e.Ref, a.ID)
			}
			// Someone else's résumé, unknown résumé or job, a closed job.
			_, err = v.apply(w1, jb.ID, r2.ID, "consent-1")
			wantErr(t, "someone else's résumé", err, errs.NotFound, "resume_id")
			_, err = v.apply(w1, jb.ID, "no-such-résumé", "consent-1")
			wantErr(t, "unknown résumé", err, errs.NotFound, "resume_id")
			err = v.c.DB.InTx(ctx, func(tx *store.Tx) error {
				_, err := v.st.Apply(ctx, tx, jobs.Application{JobID: "no-such-job", SubjectID: w1, ResumeID: r1.ID, ConsentRef: "c", LedgerID: "l"})
				return err
			})
			wantErr(t, "unknown job", err, errs.NotFound, "job_id")
			closed := v.post(t, job(orgA, "已关闭"))
			if err := v.st.Close(ctx, orgA, closed.ID); err != nil {
				t.Fatal(err)
			}
			_, err = v.apply(w1, closed.ID, r1.ID, "consent-1")
			wantErr(t, "closed job", err, errs.Conflict, "job_id")
			// Every reference is required.
			full := jobs.Application{JobID: jb.ID, SubjectID: w1, ResumeID: r1.ID, ConsentRef: "c", LedgerID: "l"}
			for field, edit := range map[string]func(*jobs.Application){
				"job_id":      func(a *jobs.Application) { a.JobID = "" },
				"subject_id":  func(a *jobs.Application) { a.SubjectID = " " },
				"resume_id":   func(a *jobs.Application) { a.ResumeID = "" },
				"consent_ref": func(a *jobs.Application) { a.ConsentRef = "" },
				"ledger_id":   func(a *jobs.Application) { a.LedgerID = "" },
			} {
				in := full
				edit(&in)
				err := v.c.DB.InTx(ctx, func(tx *store.Tx) error { _, err := v.st.Apply(ctx, tx, in); return err })
				wantErr(t, "without "+field, err, errs.Invalid, field)
			}

			// An application whose transaction fails leaves nothing behind.
			boom := errors.New("ledger failed")
			err = v.c.DB.InTx(ctx, func(tx *store.Tx) error {
				if _, err := v.st.Apply(ctx, tx, full); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatal(err)
			}
			if got, _ := v.st.ForOrg(ctx, orgB, 0); len(got) != 0 {
				t.Fatalf("rolled-back application kept: %+v", got)
			}

			// Lists.
			v.clk.Advance(time.Minute)
			a2, err := v.apply(w2, j1.ID, r2.ID, "consent-9")
			if err != nil {
				t.Fatal(err)
			}
			v.clk.Advance(time.Minute)
			ab, err := v.apply(w1, jb.ID, r1.ID, "consent-3")
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := v.st.ForSubject(ctx, w1); !slices.Equal(appIDs(got), []string{ab.ID, a.ID}) {
				t.Fatalf("w1's applications: %v", appIDs(got))
			}
			if got, _ := v.st.ForOrg(ctx, orgA, 0); !slices.Equal(appIDs(got), []string{a2.ID, a.ID}) {
				t.Fatalf("org a's applications: %v", appIDs(got))
			}
			if got, _ := v.st.ForOrg(ctx, orgA, 1); !slices.Equal(appIDs(got), []string{a2.ID}) {
				t.Fatalf("org a's applications, limit 1: %v", appIDs(got))
			}
			if got, _ := v.st.ForOrg(ctx, orgB, 0); !slices.Equal(appIDs(got), []string{ab.ID}) || got[0].OrgID != orgB {
				t.Fatalf("org b's applications: %+v", got)
			}
			_, err = v.st.Application(ctx, "no-such-application")
			wantErr(t, "unknown application", err, errs.NotFound, "id")
		})
	}
}

func appIDs(as []jobs.Application) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

func TestSetStatusAndReapply(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			orgA, orgB := v.org(t, "org-a"), v.org(t, "org-b")
			w1, w2 := v.subject(t, "w-1"), v.subject(t, "w-2")
			r1, r1b := v.resume(t, w1), v.resume(t, w1)
			j := v.post(t, job(orgA, "店员"))
			a, err := v.apply(w1, j.ID, r1.ID, "consent-1")
			if err != nil {
				t.Fatal(err)
			}
			set := func(status, org, subject string) (jobs.Application, error) {
				return v.st.SetStatus(ctx, a.ID, status, org, subject)
			}
			check := func(what string, status, org, subject string, code errs.Code, field string) {
				t.Helper()
				_, err := set(status, org, subject)
				wantErr(t, what, err, code, field)
			}
			check("nobody acts", jobs.Withdrawn, "", "", errs.Invalid, "")
			check("both act", jobs.Withdrawn, orgA, w1, errs.Invalid, "")
			check("back to applied", jobs.Applied, orgA, "", errs.Invalid, "status")
			check("unknown status", "hired", orgA, "", errs.Invalid, "status")
			_, err = v.st.SetStatus(ctx, "no-such-application", jobs.Accepted, orgA, "")
			wantErr(t, "unknown application", err, errs.NotFound, "id")
			check("another worker withdraws", jobs.Withdrawn, "", w2, errs.Forbidden, "id")
			check("the worker accepts", jobs.Accepted, "", w1, errs.Forbidden, "status")
			check("another org accepts", jobs.Accepted, orgB, "", errs.Forbidden, "id")
			check("the employer withdraws", jobs.Withdrawn, orgA, "", errs.Forbidden, "status")
			if got, _ := v.st.Application(ctx, a.ID); got != a {
				t.Fatalf("refused moves changed the application: %+v", got)
			}

			v.clk.Advance(time.Hour)
			got, err := set(jobs.Accepted, orgA, "")
			if err != nil || got.Status != jobs.Accepted || !got.UpdatedAt.Equal(v.clk.Now()) || !got.CreatedAt.Equal(a.CreatedAt) {
				t.Fatalf("accept: %+v %v", got, err)
			}
			if read, _ := v.st.Application(ctx, a.ID); read != got {
				t.Fatalf("read back %+v, want %+v", read, got)
			}
			check("reject after accepting", jobs.Rejected, orgA, "", errs.Conflict, "status")
			check("accept twice", jobs.Accepted, orgA, "", errs.Conflict, "status")
			// The worker may still withdraw an accepted application, once.
			if got, err := set(jobs.Withdrawn, "", w1); err != nil || got.Status != jobs.Withdrawn {
				t.Fatalf("withdraw: %+v %v", got, err)
			}
			check("withdraw twice", jobs.Withdrawn, "", w1, errs.Conflict, "status")
			check("accept a withdrawn one", jobs.Accepted, orgA, "", errs.Conflict, "status")

			// Re-applying re-opens the withdrawn application with the new references.
			v.clk.Advance(time.Hour)
			re, err := v.apply(w1, j.ID, r1b.ID, "consent-2")
			if err != nil {
				t.Fatal(err)
			}
			if re.ID != a.ID || re.Status != jobs.Applied || re.ResumeID != r1b.ID || re.ConsentRef != "consent-2" ||
				re.LedgerID == a.LedgerID || re.OrgID != orgA || !re.CreatedAt.Equal(v.clk.Now()) || !re.UpdatedAt.Equal(v.clk.Now()) {
				t.Fatalf("re-opened: %+v, was %+v", re, a)
			}
			if read, _ := v.st.Application(ctx, a.ID); read != re {
				t.Fatalf("read back %+v, want %+v", read, re)
			}
			if all, _ := v.st.ForSubject(ctx, w1); len(all) != 1 {
				t.Fatalf("re-opening made a second row: %+v", all)
			}
			_, err = v.apply(w1, j.ID, r1.ID, "consent-3")
			wantErr(t, "apply while re-opened", err, errs.Conflict, "job_id")

			// A re-application whose transaction fails leaves it withdrawn.
			if _, err := set(jobs.Withdrawn, "", w1); err != nil {
				t.Fatal(err)
			}
			before, _ := v.st.Application(ctx, a.ID)
			boom := errors.New("ledger failed")
			err = v.c.DB.InTx(ctx, func(tx *store.Tx) error {
				if _, err := v.st.Apply(ctx, tx, jobs.Application{JobID: j.ID, SubjectID: w1, ResumeID: r1.ID, ConsentRef: "c", LedgerID: "l"}); err != nil {
					return err
				}
				return boom
			})
			if after, _ := v.st.Application(ctx, a.ID); !errors.Is(err, boom) || after != before {
				t.Fatalf("rolled-back re-application: %+v, was %+v (%v)", after, before, err)
			}

			// The employer rejects an applied one; the worker can then not withdraw it.
			w2r := v.resume(t, w2)
			b, err := v.apply(w2, j.ID, w2r.ID, "consent-4")
			if err != nil {
				t.Fatal(err)
			}
			if got, err := v.st.SetStatus(ctx, b.ID, jobs.Rejected, orgA, ""); err != nil || got.Status != jobs.Rejected {
				t.Fatalf("reject: %+v %v", got, err)
			}
			_, err = v.st.SetStatus(ctx, b.ID, jobs.Withdrawn, "", w2)
			wantErr(t, "withdraw a rejected one", err, errs.Conflict, "status")
			_, err = v.apply(w2, j.ID, w2r.ID, "consent-5")
			wantErr(t, "re-apply after rejection", err, errs.Conflict, "job_id")
		})
	}
}

// TestApplyConcurrent: of several simultaneous applications by one person
// for one job, exactly one is recorded.
func TestApplyConcurrent(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			org := v.org(t, "org-a")
			w := v.subject(t, "w-1")
			r := v.resume(t, w)
			j := v.post(t, job(org, "店员"))
			const n = 6
			results := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { _, results[i] = v.apply(w, j.ID, r.ID, "consent") })
			}
			wg.Wait()
			ok := 0
			for _, err := range results {
				switch {
				case err == nil:
					ok++
				case !errs.Is(err, errs.Conflict):
					t.Errorf("concurrent apply: %v", err)
				}
			}
			if got, _ := v.st.ForSubject(ctx, w); ok != 1 || len(got) != 1 {
				t.Fatalf("%d applications succeeded, %d recorded", ok, len(got))
			}
		})
	}
}
