package policydoc_test

// The version store on every engine (SQLite always, PostgreSQL when
// GIGVAULT_TEST_POSTGRES is set): drafts, publication with frozen
// documents and digest, the current version and the material floor under
// an injected clock, the snapshot cache, and the first publication.

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gigvault/internal/clock"
	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
	"gigvault/internal/policydoc"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
)

var ctx = context.Background()

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

type env struct {
	t   *testing.T
	db  *store.DB
	clk *clock.Fake
	s   *policydoc.Store
}

// node returns another Store on the same database: a second node.
func (e *env) node() *policydoc.Store {
	return policydoc.NewStore(e.db, defaultSources(), cryptox.SM{}, e.clk)
}

func forEachEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			cfg := store.Config{Path: filepath.Join(t.TempDir(), "gigvault.db")}
			if eng.Postgres() {
				cfg = store.Config{URL: eng.SchemaURL(t)}
			}
			db, err := store.OpenMigrated(ctx, cfg, store.Main)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			clk := clock.NewFake(t0)
			fn(t, &env{t: t, db: db, clk: clk, s: policydoc.NewStore(db, defaultSources(), cryptox.SM{}, clk)})
		})
	}
}

func draft(version string, effective time.Time, material bool) policydoc.Meta {
	return policydoc.Meta{Version: version, EffectiveAt: effective, SummaryZh: "变更 " + version, SummaryEn: "Change " + version, Material: material}
}

// v fails the test on an error and returns the version.
func (e *env) v(v policydoc.Version, err error) policydoc.Version {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

func (e *env) list() []policydoc.Version {
	e.t.Helper()
	vs, err := e.s.List(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return vs
}

func wantCode(t *testing.T, err error, code errs.Code, what string) {
	t.Helper()
	if !errs.Is(err, code) {
		t.Errorf("%s: got %v, want %s", what, err, code)
	}
}

func TestDraftAndPublish(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		d := e.v(e.s.CreateDraft(ctx, "dpo-1", draft("2026.1", t0.Add(time.Hour), false)))
		if d.Status != policydoc.StatusDraft || d.Seq != 0 || d.CreatedBy != "dpo-1" || !d.CreatedAt.Equal(t0) || d.Digest != "" {
			t.Fatalf("draft %+v", d)
		}
		if got := e.v(e.s.Get(ctx, "2026.1")); got != d {
			t.Fatalf("read back %+v, want %+v", got, d)
		}
		_, err := e.s.CreateDraft(ctx, "dpo-2", draft("2026.1", t0, true))
		wantCode(t, err, errs.Conflict, "duplicate version")

		// Validation.
		long := strings.Repeat("长", policydoc.MaxSummary+1)
		for name, m := range map[string]policydoc.Meta{
			"empty version":     draft("", t0, false),
			"leading dot":       draft(".1", t0, false),
			"space":             draft("1 0", t0, false),
			"slash":             draft("1/0", t0, false),
			"33 characters":     draft(strings.Repeat("a", 33), t0, false),
			"no summary zh":     {Version: "x1", EffectiveAt: t0, SummaryEn: "x"},
			"blank summary en":  {Version: "x1", EffectiveAt: t0, SummaryZh: "x", SummaryEn: " \n"},
			"summary too long":  {Version: "x1", EffectiveAt: t0, SummaryZh: long, SummaryEn: "x"},
			"invalid UTF-8":     {Version: "x1", EffectiveAt: t0, SummaryZh: "\xff", SummaryEn: "x"},
			"no effective date": {Version: "x1", SummaryZh: "x", SummaryEn: "x"},
			"year 1":            draft("x1", time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC), false),
		} {
			_, err := e.s.CreateDraft(ctx, "dpo-1", m)
			wantCode(t, err, errs.Invalid, name)
		}
		_, err = e.s.CreateDraft(ctx, " ", draft("x1", t0, false))
		wantCode(t, err, errs.Invalid, "no actor")
		if _, err := e.s.CreateDraft(ctx, "dpo-1", draft(strings.Repeat("a", 32), t0, false)); err != nil {
			t.Errorf("32-character version refused: %v", err)
		}
		if _, err := e.s.CreateDraft(ctx, "dpo-1", policydoc.Meta{Version: "x2", EffectiveAt: t0, SummaryZh: strings.Repeat("长", policydoc.MaxSummary), SummaryEn: "x"}); err != nil {
			t.Errorf("a %d-character summary refused: %v", policydoc.MaxSummary, err)
		}

		// Update while a draft.
		u := draft("2026.1", t0.Add(2*time.Hour), true)
		u.SummaryZh = "  修订摘要  "
		got := e.v(e.s.UpdateDraft(ctx, "dpo-1", u))
		if !got.Material || got.SummaryZh != "修订摘要" || !got.EffectiveAt.Equal(t0.Add(2*time.Hour)) || got.CreatedBy != "dpo-1" {
			t.Fatalf("updated %+v", got)
		}
		if back := e.v(e.s.Get(ctx, "2026.1")); back != got {
			t.Fatalf("read back %+v, want %+v", back, got)
		}
		_, err = e.s.UpdateDraft(ctx, "dpo-1", draft("nope", t0, false))
		wantCode(t, err, errs.NotFound, "update unknown")
		_, _, err = e.s.Documents(ctx, "2026.1")
		wantCode(t, err, errs.NotFound, "documents of a draft")

		// Publish.
		e.clk.Advance(time.Minute)
		pub := e.v(e.s.Publish(ctx, "dpo-2", "2026.1"))
		if pub.Status != policydoc.StatusPublished || pub.Seq != 1 || pub.PublishedBy != "dpo-2" || !pub.PublishedAt.Equal(t0.Add(time.Minute)) ||
			!pub.EffectiveAt.Equal(t0.Add(2*time.Hour)) || len(pub.Digest) != 64 {
			t.Fatalf("published %+v", pub)
		}
		if back := e.v(e.s.Get(ctx, "2026.1")); back != pub {
			t.Fatalf("read back %+v, want %+v", back, pub)
		}
		doc, kids, err := e.s.Documents(ctx, "2026.1")
		if err != nil {
			t.Fatal(err)
		}
		if want := hex.EncodeToString(cryptox.Digest(cryptox.SM{}, doc, []byte{0}, kids)); want != pub.Digest {
			t.Errorf("digest %s, documents hash to %s", pub.Digest, want)
		}
		var p policydoc.Policy
		var c policydoc.Children
		if err := json.Unmarshal(doc, &p); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(kids, &c); err != nil {
			t.Fatal(err)
		}
		if p.Version != "2026.1" || p.Seq != 1 || !p.PublishedAt.Equal(pub.PublishedAt) || !p.EffectiveAt.Equal(pub.EffectiveAt) ||
			!p.Material || p.SummaryZh != "修订摘要" || len(p.Functions) == 0 || c.Version != "2026.1" || len(c.Functions) == 0 {
			t.Errorf("frozen documents: policy %s/%d, children %s", p.Version, p.Seq, c.Version)
		}
		// The frozen document is what Render gives for the same Meta, plus the publication date.
		again := mustPolicy(t, defaultSources(), pub.Meta)
		again.PublishedAt = pub.PublishedAt
		js, _ := renderBoth(t, again)
		if string(js) != string(doc) {
			t.Error("the frozen policy differs from a rendering of the same version")
		}
		_, htmlBytes := renderBoth(t, &p)
		html := string(htmlBytes)
		if !strings.Contains(html, "发布（更新）日期：2026年11月2日 17:01（北京时间）") {
			t.Error("the published policy does not show its publication date")
		}

		_, err = e.s.Publish(ctx, "dpo-2", "2026.1")
		wantCode(t, err, errs.Conflict, "publish twice")
		_, err = e.s.UpdateDraft(ctx, "dpo-1", draft("2026.1", t0, false))
		wantCode(t, err, errs.Conflict, "update a published version")
		_, err = e.s.Publish(ctx, "dpo-2", "nope")
		wantCode(t, err, errs.NotFound, "publish unknown")
		_, err = e.s.Publish(ctx, "", strings.Repeat("a", 32))
		wantCode(t, err, errs.Invalid, "publish without actor")
		_, err = e.s.Get(ctx, "nope")
		wantCode(t, err, errs.NotFound, "get unknown")
		_, _, err = e.s.Documents(ctx, "nope")
		wantCode(t, err, errs.NotFound, "documents of unknown")

		// A past effective date becomes the publication time; seq continues.
		e.v(e.s.CreateDraft(ctx, "dpo-1", draft("2026.2", t0.Add(-24*time.Hour), false)))
		e.clk.Advance(time.Minute)
		p2 := e.v(e.s.Publish(ctx, "dpo-2", "2026.2"))
		if p2.Seq != 2 || !p2.EffectiveAt.Equal(e.clk.Now()) {
			t.Errorf("second publication %+v", p2)
		}

		// Newest first: drafts, then publications from the latest back.
		list := e.list()
		var order []string
		for _, v := range list {
			order = append(order, v.Version)
		}
		want := []string{"x2", strings.Repeat("a", 32), "2026.2", "2026.1"}
		if strings.Join(order, ",") != strings.Join(want, ",") {
			t.Errorf("list order %v, want %v", order, want)
		}
	})
}

// Current follows the injected clock: a version published for a future
// date takes over when the clock reaches it.
func TestCurrentFutureEffective(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		_, err := e.s.Current(ctx)
		wantCode(t, err, errs.NotFound, "nothing published")
		e.v(e.s.CreateDraft(ctx, "dpo", draft("1", t0, false)))
		_, err = e.s.Current(ctx)
		wantCode(t, err, errs.NotFound, "only a draft")
		e.v(e.s.Publish(ctx, "dpo", "1"))
		if v := e.v(e.s.Current(ctx)); v.Version != "1" {
			t.Fatalf("current %s", v.Version)
		}
		e.v(e.s.CreateDraft(ctx, "dpo", draft("2", t0.Add(48*time.Hour), false)))
		e.v(e.s.Publish(ctx, "dpo", "2"))
		if v := e.v(e.s.Current(ctx)); v.Version != "1" {
			t.Fatalf("a future version is current already: %s", v.Version)
		}
		e.clk.Advance(48*time.Hour - time.Microsecond)
		if v := e.v(e.s.Current(ctx)); v.Version != "1" {
			t.Fatalf("current a microsecond early: %s", v.Version)
		}
		e.clk.Advance(time.Microsecond)
		if v := e.v(e.s.Current(ctx)); v.Version != "2" || v.Seq != 2 {
			t.Fatalf("current at the effective time: %+v", v)
		}
		// Within the cache TTL too: the snapshot holds every version and is
		// evaluated against the clock at each call.
		e.s.CacheTTL = time.Hour
		e.v(e.s.CreateDraft(ctx, "dpo", draft("3", e.clk.Now().Add(time.Minute), false)))
		e.v(e.s.Publish(ctx, "dpo", "3"))
		if v := e.v(e.s.Current(ctx)); v.Version != "2" {
			t.Fatalf("current %s before 3 takes effect", v.Version)
		}
		e.clk.Advance(time.Minute)
		if v := e.v(e.s.Current(ctx)); v.Version != "3" {
			t.Fatalf("current %s after 3 takes effect, within the TTL", v.Version)
		}
	})
}

func TestMaterialFloor(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		floor := func(wantSeq int64, wantVersion string) {
			t.Helper()
			seq, v, err := e.s.MaterialFloor(ctx)
			if err != nil || seq != wantSeq || v != wantVersion {
				t.Fatalf("floor (%d, %q, %v), want (%d, %q)", seq, v, err, wantSeq, wantVersion)
			}
		}
		floor(0, "")
		e.v(e.s.CreateDraft(ctx, "dpo", draft("1", t0, false)))
		e.v(e.s.Publish(ctx, "dpo", "1"))
		floor(0, "") // not material
		e.v(e.s.CreateDraft(ctx, "dpo", draft("2", t0.Add(time.Hour), true)))
		floor(0, "") // a material draft is nothing yet
		e.v(e.s.Publish(ctx, "dpo", "2"))
		floor(0, "") // material, not yet effective
		e.clk.Advance(time.Hour)
		floor(2, "2")
		e.v(e.s.CreateDraft(ctx, "dpo", draft("3", t0, false)))
		e.v(e.s.Publish(ctx, "dpo", "3"))
		floor(2, "2") // a later minor change keeps the floor
		if v := e.v(e.s.Current(ctx)); v.Version != "3" {
			t.Fatalf("current %s", v.Version)
		}
		e.v(e.s.CreateDraft(ctx, "dpo", draft("4", t0, true)))
		e.v(e.s.Publish(ctx, "dpo", "4"))
		floor(4, "4")
	})
}

// Another node's publication is seen within CacheTTL; this node's own at once.
func TestCacheRefresh(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.v(e.s.CreateDraft(ctx, "dpo", draft("1", t0, false)))
		e.v(e.s.Publish(ctx, "dpo", "1"))
		other := e.node()
		if other.CacheTTL != time.Second {
			t.Fatalf("default TTL %v", other.CacheTTL)
		}
		if v := e.v(other.Current(ctx)); v.Version != "1" {
			t.Fatalf("other node: %s", v.Version)
		}
		if v := e.v(e.s.Current(ctx)); v.Version != "1" {
			t.Fatalf("this node: %s", v.Version)
		}
		e.v(e.s.CreateDraft(ctx, "dpo", draft("2", t0, true)))
		e.v(e.s.Publish(ctx, "dpo", "2"))
		if v := e.v(e.s.Current(ctx)); v.Version != "2" {
			t.Fatalf("the publishing node does not see its publication: %s", v.Version)
		}
		if v := e.v(other.Current(ctx)); v.Version != "1" {
			t.Fatalf("the other node did not cache: %s", v.Version)
		}
		if seq, _, _ := other.MaterialFloor(ctx); seq != 0 {
			t.Fatalf("the other node's floor moved before its TTL: %d", seq)
		}
		e.clk.Advance(999 * time.Millisecond)
		if v := e.v(other.Current(ctx)); v.Version != "1" {
			t.Fatalf("refreshed before the TTL: %s", v.Version)
		}
		e.clk.Advance(time.Millisecond)
		if v := e.v(other.Current(ctx)); v.Version != "2" {
			t.Fatalf("not refreshed after the TTL: %s", v.Version)
		}
		if seq, v, _ := other.MaterialFloor(ctx); seq != 2 || v != "2" {
			t.Fatalf("other node's floor (%d, %s)", seq, v)
		}
		// No cache at all: every call reads.
		other.CacheTTL = 0
		e.v(e.s.CreateDraft(ctx, "dpo", draft("3", t0, false)))
		e.v(e.s.Publish(ctx, "dpo", "3"))
		if v := e.v(other.Current(ctx)); v.Version != "3" {
			t.Fatalf("TTL 0 still cached: %s", v.Version)
		}
	})
}

func TestEnsureInitial(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		v := e.v(e.s.EnsureInitial(ctx))
		if v.Version != "1" || v.Seq != 1 || v.Status != policydoc.StatusPublished || v.Material || v.CreatedBy != policydoc.SystemActor ||
			v.PublishedBy != policydoc.SystemActor || v.SummaryZh != "首次发布" || v.SummaryEn != "First publication" || !v.EffectiveAt.Equal(t0) {
			t.Fatalf("initial %+v", v)
		}
		if cur := e.v(e.s.Current(ctx)); cur != v {
			t.Fatalf("current %+v", cur)
		}
		e.clk.Advance(time.Hour)
		if again := e.v(e.s.EnsureInitial(ctx)); again != v {
			t.Fatalf("second call %+v", again)
		}
		if again := e.v(e.node().EnsureInitial(ctx)); again != v {
			t.Fatalf("another node %+v", again)
		}
		e.v(e.s.CreateDraft(ctx, "dpo", draft("2", t0, false)))
		p2 := e.v(e.s.Publish(ctx, "dpo", "2"))
		if again := e.v(e.s.EnsureInitial(ctx)); again != p2 {
			t.Fatalf("with a later version: %+v", again)
		}
		if n := len(e.list()); n != 2 {
			t.Fatalf("%d versions", n)
		}
	})
}

// Several nodes starting at once publish exactly one first version.
func TestEnsureInitialRace(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		const n = 4
		got := make([]policydoc.Version, n)
		errsOut := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errsOut[i] = e.node().EnsureInitial(ctx)
			}()
		}
		wg.Wait()
		for i := range n {
			if errsOut[i] != nil || got[i].Version != "1" || got[i].Seq != 1 || got[i].Digest != got[0].Digest {
				t.Errorf("node %d: %+v %v", i, got[i], errsOut[i])
			}
		}
		if vs := e.list(); len(vs) != 1 {
			t.Fatalf("%d versions after the race", len(vs))
		}
	})
}

// Someone else's draft "1" is not published behind their back.
func TestEnsureInitialLeavesOthersDraft(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.v(e.s.CreateDraft(ctx, "dpo", draft("1", t0, false)))
		_, err := e.s.EnsureInitial(ctx)
		wantCode(t, err, errs.Conflict, "someone else's draft 1")
		if v := e.v(e.s.Get(ctx, "1")); v.Status != policydoc.StatusDraft {
			t.Fatalf("draft published: %+v", v)
		}
	})
}

// Concurrent publications of different versions get distinct, gapless
// sequence numbers.
func TestConcurrentPublish(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		const n = 4
		for i := range n {
			e.v(e.s.CreateDraft(ctx, "dpo", draft(string(rune('a'+i)), t0, i%2 == 0)))
		}
		errsOut := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errsOut[i] = e.node().Publish(ctx, "dpo", string(rune('a'+i)))
			}()
		}
		wg.Wait()
		seqs := map[int64]bool{}
		for i, v := range e.list() {
			if errsOut[i] != nil {
				t.Errorf("publish %d: %v", i, errsOut[i])
			}
			if v.Status != policydoc.StatusPublished || v.Seq < 1 || v.Seq > n || seqs[v.Seq] {
				t.Errorf("version %+v", v)
			}
			seqs[v.Seq] = true
		}
		if len(seqs) != n {
			t.Fatalf("sequence numbers %v", seqs)
		}
	})
}
