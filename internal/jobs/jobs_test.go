package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gigvault/internal/app"
	"gigvault/internal/clock"
	"gigvault/internal/errs"
	"gigvault/internal/jobs"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
	"gigvault/internal/textscan"
)

var ctx = context.Background()

type env struct {
	c   *app.Core
	st  *jobs.Store
	clk *clock.Fake
}

func open(t *testing.T, e testenv.Engine) env {
	t.Helper()
	cfg := e.Config(t)
	c := testenv.Open(t, cfg)
	return env{c: c, st: jobs.New(c.DB, c.Clock), clk: cfg.Clock.(*clock.Fake)}
}

// org inserts an organisation row (company data, no PI).
func (v env) org(t *testing.T, id string) string {
	t.Helper()
	if _, err := v.c.DB.Exec(ctx, `INSERT INTO organisations (id, name, uscc, created_at) VALUES (?, ?, ?, ?)`,
		id, "公司 "+id, "USCC-"+id, v.clk.Now().UnixMicro()); err != nil {
		t.Fatal(err)
	}
	return id
}

// subject inserts a data subject row.
func (v env) subject(t *testing.T, id string) string {
	t.Helper()
	if _, err := v.c.DB.Exec(ctx, `INSERT INTO subjects (id, kind, created_at) VALUES (?, ?, ?)`, id, "worker", v.clk.Now().UnixMicro()); err != nil {
		t.Fatal(err)
	}
	return id
}

func (v env) post(t *testing.T, j jobs.Job) jobs.Job {
	t.Helper()
	got, err := v.st.Post(ctx, j)
	if err != nil {
		t.Fatalf("post %q: %v", j.Title, err)
	}
	return got
}

func job(org, title string) jobs.Job {
	return jobs.Job{OrgID: org, Title: title, Description: "负责门店日常工作,日结。", City: "深圳", Category: "retail",
		PayFen: 2500, PayUnit: "hour", CreatedBy: "account-1"}
}

// wantErr fails unless err is an *errs.Error with code and field.
func wantErr(t *testing.T, what string, err error, code errs.Code, field string) *errs.Error {
	t.Helper()
	e := errs.As(err)
	if err == nil || e.Code != code || e.Field != field {
		t.Errorf("%s: %v, want %s (%s)", what, err, code, field)
	}
	return e
}

func ids(js []jobs.Job) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.ID
	}
	return out
}

func TestResumes(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			w := v.subject(t, "w-1")
			create := func(subject, vis string) (jobs.Resume, error) {
				var r jobs.Resume
				err := v.c.DB.InTx(ctx, func(tx *store.Tx) error {
					var err error
					r, err = v.st.CreateResume(ctx, tx, subject, vis)
					return err
				})
				return r, err
			}
			r1, err := create(w, "")
			if err != nil || r1.Visibility != jobs.Private || r1.SubjectID != w || !r1.CreatedAt.Equal(v.clk.Now()) || r1.ID == "" {
				t.Fatalf("default résumé: %+v %v", r1, err)
			}
			v.clk.Advance(time.Minute)
			r2, err := create(w, jobs.Public)
			if err != nil || r2.Visibility != jobs.Public {
				t.Fatalf("public résumé: %+v %v", r2, err)
			}
			if got, err := v.st.Resume(ctx, r1.ID); err != nil || got != r1 {
				t.Fatalf("read back %+v %v, want %+v", got, err, r1)
			}
			if got, _ := v.st.Resumes(ctx, w); len(got) != 2 || got[0] != r2 || got[1] != r1 {
				t.Fatalf("résumés newest first: %+v", got)
			}
			if got, err := v.st.Resumes(ctx, "nobody"); err != nil || len(got) != 0 {
				t.Fatalf("nobody's résumés: %+v %v", got, err)
			}

			// Refusals.
			_, err = create(w, "friends")
			wantErr(t, "bad visibility", err, errs.Invalid, "visibility")
			_, err = create("no-such-subject", "")
			wantErr(t, "unknown subject", err, errs.NotFound, "subject_id")
			erased := v.subject(t, "w-erased")
			if _, err := v.c.DB.Exec(ctx, `UPDATE subjects SET erased_at = ? WHERE id = ?`, v.clk.Now().UnixMicro(), erased); err != nil {
				t.Fatal(err)
			}
			_, err = create(erased, "")
			wantErr(t, "erased subject", err, errs.Erased, "subject_id")
			_, err = v.st.Resume(ctx, "no-such-résumé")
			wantErr(t, "unknown résumé", err, errs.NotFound, "id")

			// A résumé whose transaction (the vault put) fails is not kept.
			boom := errors.New("vault put failed")
			var lost jobs.Resume
			err = v.c.DB.InTx(ctx, func(tx *store.Tx) error {
				var err error
				if lost, err = v.st.CreateResume(ctx, tx, w, ""); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatal(err)
			}
			_, err = v.st.Resume(ctx, lost.ID)
			wantErr(t, "rolled-back résumé", err, errs.NotFound, "id")
			if got, _ := v.st.Resumes(ctx, w); len(got) != 2 {
				t.Fatalf("rolled-back résumé listed: %+v", got)
			}

			// Touch: visibility and updated_at; "" keeps the visibility.
			touch := func(id, vis string) error {
				return v.c.DB.InTx(ctx, func(tx *store.Tx) error { return v.st.TouchResume(ctx, tx, id, vis) })
			}
			v.clk.Advance(time.Hour)
			if err := touch(r1.ID, jobs.Public); err != nil {
				t.Fatal(err)
			}
			got, _ := v.st.Resume(ctx, r1.ID)
			if got.Visibility != jobs.Public || !got.UpdatedAt.Equal(v.clk.Now()) || !got.CreatedAt.Equal(r1.CreatedAt) {
				t.Fatalf("touched: %+v", got)
			}
			v.clk.Advance(time.Hour)
			if err := touch(r1.ID, ""); err != nil {
				t.Fatal(err)
			}
			if got, _ := v.st.Resume(ctx, r1.ID); got.Visibility != jobs.Public || !got.UpdatedAt.Equal(v.clk.Now()) {
				t.Fatalf("touched keeping visibility: %+v", got)
			}
			wantErr(t, "touch unknown", touch("no-such-résumé", ""), errs.NotFound, "id")
			wantErr(t, "touch bad visibility", touch(r1.ID, "everyone"), errs.Invalid, "visibility")
			// A touch that rolls back changes nothing.
			before, _ := v.st.Resume(ctx, r2.ID)
			v.clk.Advance(time.Hour)
			err = v.c.DB.InTx(ctx, func(tx *store.Tx) error {
				if err := v.st.TouchResume(ctx, tx, r2.ID, jobs.Private); err != nil {
					return err
				}
				return boom
			})
			if after, _ := v.st.Resume(ctx, r2.ID); !errors.Is(err, boom) || after != before {
				t.Fatalf("rolled-back touch: %+v, was %+v (%v)", after, before, err)
			}
		})
	}
}

func TestPost(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			org := v.org(t, "org-a")
			in := job(org, "  咖啡师 Barista  ")
			in.City = " 深圳 "
			j := v.post(t, in)
			if j.ID == "" || j.Status != jobs.Open || !j.CreatedAt.Equal(v.clk.Now()) || j.Title != "咖啡师 Barista" || j.City != "深圳" {
				t.Fatalf("posted: %+v", j)
			}
			if got, err := v.st.Job(ctx, j.ID); err != nil || !reflect.DeepEqual(got, j) {
				t.Fatalf("read back %+v %v, want %+v", got, err, j)
			}
			// The bounds themselves are accepted.
			edge := job(org, strings.Repeat("岗", jobs.MaxTitleRunes))
			edge.Description = strings.Repeat("述", jobs.MaxDescriptionRunes)
			edge.City, edge.PayFen, edge.PayUnit, edge.Category = strings.Repeat("城", jobs.MaxCityRunes), jobs.MaxPayFen, "month", "other"
			v.post(t, edge)
			crlf := job(org, "理货员")
			crlf.Description = "第一行\r\n第二行\t说明\n"
			if got := v.post(t, crlf); got.Description != "第一行\n第二行\t说明" {
				t.Fatalf("description with CRLF stored as %q", got.Description)
			}
			edge = job(org, "保洁")
			edge.Description, edge.City, edge.PayFen, edge.PayUnit, edge.Category = "", "上海", 1, "piece", "cleaning"
			v.post(t, edge)
			if n, _ := v.st.ByOrg(ctx, org, 0); len(n) != 4 {
				t.Fatalf("%d jobs", len(n))
			}

			for _, tc := range []struct {
				name  string
				edit  func(*jobs.Job)
				code  errs.Code
				field string
			}{
				{"no org", func(j *jobs.Job) { j.OrgID = " " }, errs.Invalid, "org_id"},
				{"no poster", func(j *jobs.Job) { j.CreatedBy = "" }, errs.Invalid, "created_by"},
				{"title too short", func(j *jobs.Job) { j.Title = " 岗 " }, errs.Invalid, "title"},
				{"title too long", func(j *jobs.Job) { j.Title = strings.Repeat("岗", jobs.MaxTitleRunes+1) }, errs.Invalid, "title"},
				{"title on two lines", func(j *jobs.Job) { j.Title = "店员\n急招" }, errs.Invalid, "title"},
				{"title with a bidi control", func(j *jobs.Job) { j.Title = "店员\u202e招聘" }, errs.Invalid, "title"},
				{"title not UTF-8", func(j *jobs.Job) { j.Title = "店员\xff" }, errs.Invalid, "title"},
				{"description too long", func(j *jobs.Job) { j.Description = strings.Repeat("述", jobs.MaxDescriptionRunes+1) }, errs.Invalid, "description"},
				{"description with NUL", func(j *jobs.Job) { j.Description = "日结\x00" }, errs.Invalid, "description"},
				{"description with a lone CR", func(j *jobs.Job) { j.Description = "日结\r现金" }, errs.Invalid, "description"},
				{"city too short", func(j *jobs.Job) { j.City = "京" }, errs.Invalid, "city"},
				{"city too long", func(j *jobs.Job) { j.City = strings.Repeat("城", jobs.MaxCityRunes+1) }, errs.Invalid, "city"},
				{"city of symbols", func(j *jobs.Job) { j.City = "☺☺" }, errs.Invalid, "city"},
				{"unknown category", func(j *jobs.Job) { j.Category = "espionage" }, errs.Invalid, "category"},
				{"no category", func(j *jobs.Job) { j.Category = "" }, errs.Invalid, "category"},
				{"no pay", func(j *jobs.Job) { j.PayFen = 0 }, errs.Invalid, "pay_fen"},
				{"negative pay", func(j *jobs.Job) { j.PayFen = -1 }, errs.Invalid, "pay_fen"},
				{"pay too high", func(j *jobs.Job) { j.PayFen = jobs.MaxPayFen + 1 }, errs.Invalid, "pay_fen"},
				{"unknown pay unit", func(j *jobs.Job) { j.PayUnit = "week" }, errs.Invalid, "pay_unit"},
				{"mobile in the title", func(j *jobs.Job) { j.Title = "急招 联系13800138000" }, errs.Invalid, "title"},
				{"ID number in the description", func(j *jobs.Job) { j.Description = "请带身份证 11010519491231002X 原件" }, errs.Invalid, "description"},
				{"card in the description", func(j *jobs.Job) { j.Description = "工资打到 6222 0212 3456 7894" }, errs.Invalid, "description"},
				{"unknown organisation", func(j *jobs.Job) { j.OrgID = "org-nobody" }, errs.NotFound, "org_id"},
			} {
				j := job(org, "配送员")
				tc.edit(&j)
				_, err := v.st.Post(ctx, j)
				e := wantErr(t, tc.name, err, tc.code, tc.field)
				if strings.Contains(tc.name, " in the ") {
					if e.Reason != textscan.Reason || len(e.Missing) != 1 {
						t.Errorf("%s: reason %q missing %v", tc.name, e.Reason, e.Missing)
					}
					for _, secret := range []string{"13800138000", "11010519491231002X", "6222"} {
						if strings.Contains(err.Error(), secret) || strings.Contains(e.MessageZh, secret) {
							t.Errorf("%s: error repeats the number: %v", tc.name, err)
						}
					}
				}
			}
			if n, _ := v.st.ByOrg(ctx, org, 0); len(n) != 4 {
				t.Fatalf("refused postings stored: %d jobs", len(n))
			}
		})
	}
}

func TestCloseAndByOrg(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			a, b := v.org(t, "org-a"), v.org(t, "org-b")
			j1 := v.post(t, job(a, "店员一"))
			v.clk.Advance(time.Second)
			j2 := v.post(t, job(a, "店员二"))
			v.clk.Advance(time.Second)
			jb := v.post(t, job(b, "店员乙"))

			wantErr(t, "close another org's job", v.st.Close(ctx, b, j1.ID), errs.NotFound, "id")
			wantErr(t, "close unknown job", v.st.Close(ctx, a, "no-such-job"), errs.NotFound, "id")
			if got, _ := v.st.Job(ctx, j1.ID); got.Status != jobs.Open {
				t.Fatalf("closed by another org: %+v", got)
			}
			if err := v.st.Close(ctx, a, j1.ID); err != nil {
				t.Fatal(err)
			}
			if err := v.st.Close(ctx, a, j1.ID); err != nil {
				t.Fatalf("closing twice: %v", err)
			}
			if got, _ := v.st.Job(ctx, j1.ID); got.Status != jobs.Closed {
				t.Fatalf("not closed: %+v", got)
			}
			_, err := v.st.Job(ctx, "no-such-job")
			wantErr(t, "unknown job", err, errs.NotFound, "id")

			// ByOrg: open and closed, newest first, only the org's, limited.
			if got, _ := v.st.ByOrg(ctx, a, 0); !slices.Equal(ids(got), []string{j2.ID, j1.ID}) {
				t.Fatalf("org a: %v", ids(got))
			}
			if got, _ := v.st.ByOrg(ctx, a, 1); !slices.Equal(ids(got), []string{j2.ID}) {
				t.Fatalf("org a, limit 1: %v", ids(got))
			}
			if got, _ := v.st.ByOrg(ctx, b, 1000); !slices.Equal(ids(got), []string{jb.ID}) {
				t.Fatalf("org b: %v", ids(got))
			}
			// Search shows open jobs only.
			if got, _ := v.st.Search(ctx, jobs.Query{}); !slices.Equal(ids(got), []string{jb.ID, j2.ID}) {
				t.Fatalf("search: %v", ids(got))
			}
		})
	}
}

func TestSearch(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			org := v.org(t, "org-a")
			mk := func(title, desc, city, cat string, pay int64, unit string) jobs.Job {
				v.clk.Advance(time.Second)
				j := job(org, title)
				j.Description, j.City, j.Category, j.PayFen, j.PayUnit = desc, city, cat, pay, unit
				return v.post(t, j)
			}
			barista := mk("Senior BARISTA", "咖啡店", "深圳", "catering", 3000, "hour")
			courier := mk("外卖骑手", "Needs a barista-grade attitude", "上海", "delivery", 30000, "day")
			percent := mk("好评率100%奖励", "", "深圳", "promotion", 20000, "day")
			hundred := mk("好评率100奖励", "", "深圳", "promotion", 20000, "day")
			under := mk("a_b 仓库", "", "北京", "warehouse", 500000, "month")
			aXb := mk("aXb 仓库", "", "北京", "warehouse", 500000, "month")
			bang := mk("急招!店员", "", "广州", "retail", 2000, "hour")
			slash := mk(`路径 C:\temp 整理`, "", "广州", "other", 100, "piece")
			closed := mk("Barista 兼职", "", "深圳", "catering", 3000, "hour")
			if err := v.st.Close(ctx, org, closed.ID); err != nil {
				t.Fatal(err)
			}

			for _, tc := range []struct {
				name string
				q    jobs.Query
				want []jobs.Job
			}{
				{"everything open", jobs.Query{}, []jobs.Job{slash, bang, aXb, under, hundred, percent, courier, barista}},
				{"text, any case, title or description", jobs.Query{Text: "barista"}, []jobs.Job{courier, barista}},
				{"text upper case", jobs.Query{Text: " BaRiStA "}, []jobs.Job{courier, barista}},
				{"Chinese text", jobs.Query{Text: "仓库"}, []jobs.Job{aXb, under}},
				// Full text: punctuation separates, CJK runs match as
				// substrings of a run, words match whole.
				{"punctuation alone is no search", jobs.Query{Text: "%_!\\"}, []jobs.Job{slash, bang, aXb, under, hundred, percent, courier, barista}},
				{"word and CJK across punctuation", jobs.Query{Text: "100%奖"}, []jobs.Job{hundred, percent}},
				{"words split at _", jobs.Query{Text: "a_b"}, []jobs.Job{under}},
				{"a single CJK character", jobs.Query{Text: "库"}, []jobs.Job{aXb, under}},
				{"a single CJK character, end of a run", jobs.Query{Text: "员"}, []jobs.Job{bang}},
				{"three characters, adjacent", jobs.Query{Text: "好评率"}, []jobs.Job{hundred, percent}},
				{"characters not adjacent", jobs.Query{Text: "好率"}, nil},
				{"no phrase across punctuation", jobs.Query{Text: "招店"}, nil},
				{"CJK both sides of punctuation", jobs.Query{Text: "招 店员"}, []jobs.Job{bang}},
				{"a word matches whole", jobs.Query{Text: "temp"}, []jobs.Job{slash}},
				{"not a part of a word", jobs.Query{Text: "tem"}, nil},
				{"city", jobs.Query{City: "深圳"}, []jobs.Job{hundred, percent, barista}},
				{"category", jobs.Query{Category: "warehouse"}, []jobs.Job{aXb, under}},
				{"minimum pay", jobs.Query{MinPayFen: 30000}, []jobs.Job{aXb, under, courier}},
				{"pay unit", jobs.Query{PayUnit: "day"}, []jobs.Job{hundred, percent, courier}},
				{"combined", jobs.Query{City: "深圳", PayUnit: "day", MinPayFen: 20000, Text: "100"}, []jobs.Job{hundred, percent}},
				{"no match", jobs.Query{City: "拉萨"}, nil},
				{"limit", jobs.Query{Limit: 2}, []jobs.Job{slash, bang}},
			} {
				got, err := v.st.Search(ctx, tc.q)
				if err != nil {
					t.Errorf("%s: %v", tc.name, err)
					continue
				}
				if !slices.Equal(ids(got), ids(tc.want)) {
					t.Errorf("%s: %v, want %v", tc.name, titles(got), titles(tc.want))
				}
			}

			for _, tc := range []struct {
				name  string
				q     jobs.Query
				field string
			}{
				{"limit too high", jobs.Query{Limit: jobs.MaxLimit + 1}, "limit"},
				{"negative limit", jobs.Query{Limit: -1}, "limit"},
				{"unknown category", jobs.Query{Category: "spy"}, "category"},
				{"unknown pay unit", jobs.Query{PayUnit: "week"}, "pay_unit"},
				{"negative pay", jobs.Query{MinPayFen: -1}, "min_pay_fen"},
				{"pay too high", jobs.Query{MinPayFen: jobs.MaxPayFen + 1}, "min_pay_fen"},
				{"text too long", jobs.Query{Text: strings.Repeat("字", jobs.MaxQueryRunes+1)}, "q"},
				{"text with control", jobs.Query{Text: "a\x00b"}, "q"},
				{"city too long", jobs.Query{City: strings.Repeat("城", jobs.MaxCityRunes+1)}, "city"},
				{"cursor of no job", jobs.Query{Before: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}, "before"},
				{"cursor not an ID", jobs.Query{Before: "x' OR '1'='1"}, "before"},
			} {
				_, err := v.st.Search(ctx, tc.q)
				wantErr(t, tc.name, err, errs.Invalid, tc.field)
			}
		})
	}
}

func titles(js []jobs.Job) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.Title
	}
	return out
}

// TestSearchPaging pages through jobs of which many share a creation time,
// so the cursor must break ties by ID.
func TestSearchPaging(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			org := v.org(t, "org-a")
			var all []jobs.Job
			for i := range 47 {
				if i%5 == 0 {
					v.clk.Advance(time.Second) // five jobs per instant
				}
				all = append(all, v.post(t, job(org, fmt.Sprintf("岗位%02d", i))))
			}
			// One closed job in the middle is skipped, and still works as a cursor.
			closed := all[20]
			if err := v.st.Close(ctx, org, closed.ID); err != nil {
				t.Fatal(err)
			}
			var want []string
			for i := len(all) - 1; i >= 0; i-- {
				if all[i].ID != closed.ID {
					want = append(want, all[i].ID)
				}
			}
			if def, _ := v.st.Search(ctx, jobs.Query{}); len(def) != jobs.DefaultLimit {
				t.Fatalf("default page: %d jobs", len(def))
			}
			var got []string
			q := jobs.Query{Limit: 7}
			for pages := 0; ; pages++ {
				if pages > 10 {
					t.Fatal("paging does not end")
				}
				page, err := v.st.Search(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ids(page)...)
				if len(page) < q.Limit {
					break
				}
				q.Before = page[len(page)-1].ID
			}
			if !slices.Equal(got, want) {
				t.Fatalf("paged:\n%v\nwant\n%v", got, want)
			}
			// The closed job as a cursor continues after its place.
			page, err := v.st.Search(ctx, jobs.Query{Before: closed.ID, Limit: 3})
			if err != nil || !slices.Equal(ids(page), []string{all[19].ID, all[18].ID, all[17].ID}) {
				t.Fatalf("after the closed job: %v %v", titles(page), err)
			}
			// Cursor and filters combine.
			page, err = v.st.Search(ctx, jobs.Query{Before: all[10].ID, Text: "岗位", Limit: 100})
			if err != nil || !slices.Equal(ids(page), []string{all[9].ID, all[8].ID, all[7].ID, all[6].ID, all[5].ID, all[4].ID, all[3].ID, all[2].ID, all[1].ID, all[0].ID}) {
				t.Fatalf("filtered page: %v %v", titles(page), err)
			}
		})
	}
}
