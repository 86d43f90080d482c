package jobs_test

import (
	"net/url"
	"slices"
	"testing"

	"gigvault/internal/errs"
	"gigvault/internal/jobs"
)

func TestParseQuery(t *testing.T) {
	v, _ := url.ParseQuery("q=+Barista+&city=%E6%B7%B1%E5%9C%B3&category=catering&min_pay_fen=2500&pay_unit=hour&limit=50&before=0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b&lang=zh")
	q, err := jobs.ParseQuery(v)
	want := jobs.Query{Text: "Barista", City: "深圳", Category: "catering", MinPayFen: 2500, PayUnit: "hour", Limit: 50, Before: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}
	if err != nil || q != want {
		t.Fatalf("ParseQuery = %+v %v, want %+v", q, err, want)
	}
	if q, err := jobs.ParseQuery(url.Values{}); err != nil || q != (jobs.Query{Limit: jobs.DefaultLimit}) {
		t.Fatalf("empty query: %+v %v", q, err)
	}
	if q, err := jobs.ParseQuery(url.Values{"q": {""}, "min_pay_fen": {"0"}, "limit": {""}}); err != nil || q != (jobs.Query{Limit: jobs.DefaultLimit}) {
		t.Fatalf("empty parameters: %+v %v", q, err)
	}
	if again, err := jobs.ParseQuery(want.Values()); err != nil || again != want {
		t.Fatalf("round trip: %+v %v", again, err)
	}
	for _, tc := range []struct {
		raw, field string
	}{
		{"q=a&q=b", "q"},
		{"city=a&city=b", "city"},
		{"limit=1&limit=2", "limit"},
		{"q=%00", "q"},
		{"q=" + string(make([]byte, 0)) + "%E2%80%AE", "q"}, // a bidi override
		{"city=%E4%BA%AC%0A%E4%BA%AC", "city"},
		{"category=spy", "category"},
		{"category=Delivery", "category"},
		{"pay_unit=week", "pay_unit"},
		{"min_pay_fen=-1", "min_pay_fen"},
		{"min_pay_fen=%2B5", "min_pay_fen"},
		{"min_pay_fen=1.5", "min_pay_fen"},
		{"min_pay_fen=100000001", "min_pay_fen"},
		{"min_pay_fen=99999999999999999999", "min_pay_fen"},
		{"min_pay_fen=+5", "min_pay_fen"},
		{"limit=0", "limit"},
		{"limit=101", "limit"},
		{"limit=ten", "limit"},
		{"limit=-5", "limit"},
		{"limit=%205", "limit"},
		{"before=not%20an%20id", "before"},
		{"before=x'--", "before"},
	} {
		v, err := url.ParseQuery(tc.raw)
		if err != nil {
			t.Fatalf("%s: %v", tc.raw, err)
		}
		_, err = jobs.ParseQuery(v)
		if e := errs.As(err); err == nil || e.Code != errs.Invalid || e.Field != tc.field {
			t.Errorf("%s: %v, want invalid %s", tc.raw, err, tc.field)
		}
	}
}

var params = []string{"q", "city", "category", "min_pay_fen", "pay_unit", "limit", "before"}

// FuzzParseQuery: any query string either parses to a query that survives
// a round trip through Values, or is refused with an errs.Invalid naming
// one of the parameters.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"q=barista&city=深圳&category=catering&min_pay_fen=2500&pay_unit=hour&limit=50&before=0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
		"q=100%25&limit=100",
		"q=a_b!&city=%E4%B8%8A%E6%B5%B7",
		"limit=0&min_pay_fen=-1",
		"q=%00&q=x",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := jobs.ParseQuery(v)
		if err != nil {
			e := errs.As(err)
			if e.Code != errs.Invalid || !slices.Contains(params, e.Field) {
				t.Fatalf("%q: error %v does not name a parameter", raw, err)
			}
			return
		}
		if q.Limit < 1 || q.Limit > jobs.MaxLimit || q.MinPayFen < 0 || q.MinPayFen > jobs.MaxPayFen ||
			(q.Category != "" && !slices.Contains(jobs.Categories, q.Category)) || (q.PayUnit != "" && !slices.Contains(jobs.PayUnits, q.PayUnit)) {
			t.Fatalf("%q: out-of-range query %+v", raw, q)
		}
		again, err := jobs.ParseQuery(q.Values())
		if err != nil || again != q {
			t.Fatalf("%q: round trip %+v → %+v (%v)", raw, q, again, err)
		}
	})
}
