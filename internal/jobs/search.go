package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"gigvault/internal/format"
	"gigvault/internal/store"
)

// Page sizes of searches and listings.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// MaxQueryRunes is the longest search text.
const MaxQueryRunes = 100

// maxCursor is the longest cursor (job ID) accepted.
const maxCursor = 64

// Query is a job search. Empty fields do not filter.
type Query struct {
	Text      string `json:"q,omitempty"`           // in the title or description, case-insensitive
	City      string `json:"city,omitempty"`        // exactly
	Category  string `json:"category,omitempty"`    // one of Categories
	MinPayFen int64  `json:"min_pay_fen,omitempty"` // pay at least this many fen (per whatever unit)
	PayUnit   string `json:"pay_unit,omitempty"`    // one of PayUnits
	From      string `json:"from,omitempty"`        // work time: jobs with a slot ending at or after this date (YYYY-MM-DD, China time) …
	To        string `json:"to,omitempty"`          // … and starting before the end of this date; jobs without slots (flexible hours) always match
	Limit     int    `json:"limit,omitempty"`       // page size, default DefaultLimit, at most MaxLimit
	Before    string `json:"before,omitempty"`      // cursor: the last job ID of the previous page
}

// The URL parameters of a query, which are also the fields its errors name.
var queryParams = []string{"q", "city", "category", "min_pay_fen", "pay_unit", "from", "to", "limit", "before"}

// china is the time zone dates in queries are read in.
var china = time.FixedZone("CST", 8*3600)

// day reads a YYYY-MM-DD date as the start of that day in China time.
func day(field, v string) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02", v, china)
	if err != nil {
		return time.Time{}, invalid(field, "日期格式应为 YYYY-MM-DD", "the date must be YYYY-MM-DD")
	}
	return t, nil
}

// check normalises q (trimming) and validates it; errors name the URL
// parameter at fault. Whether the cursor names a job is Search's to check.
func (q *Query) check() error {
	var err error
	if q.Text, err = text("q", q.Text, format.KindKeyword, 0, MaxQueryRunes, "搜索词", "the search text"); err != nil {
		return err
	}
	if q.City, err = text("city", q.City, format.KindCity, 0, MaxCityRunes, "城市", "the city"); err != nil {
		return err
	}
	if q.Category != "" && !slices.Contains(Categories, q.Category) {
		return invalid("category", "未知的职位类别,可选:"+strings.Join(Categories, "、"), "unknown job category; one of "+strings.Join(Categories, ", "))
	}
	if q.MinPayFen < 0 || q.MinPayFen > MaxPayFen {
		return invalid("min_pay_fen", fmt.Sprintf("最低薪酬须为0至%d分", MaxPayFen), fmt.Sprintf("the minimum pay must be 0 to %d fen", MaxPayFen))
	}
	if q.PayUnit != "" && !slices.Contains(PayUnits, q.PayUnit) {
		return invalid("pay_unit", "薪酬单位须为 hour、day、piece 或 month", "the pay unit must be hour, day, piece or month")
	}
	var from, to time.Time
	if q.From != "" {
		if from, err = day("from", q.From); err != nil {
			return err
		}
	}
	if q.To != "" {
		if to, err = day("to", q.To); err != nil {
			return err
		}
	}
	if q.From != "" && q.To != "" && to.Before(from) {
		return invalid("to", "结束日期不能早于开始日期", "to must not be before from")
	}
	if q.Limit < 0 || q.Limit > MaxLimit {
		return invalid("limit", fmt.Sprintf("每页条数须为1至%d", MaxLimit), fmt.Sprintf("the limit must be 1 to %d", MaxLimit))
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.Before != "" && !validCursor(q.Before) {
		return invalid("before", "翻页游标无效", "the cursor is not a job ID")
	}
	return nil
}

// validCursor: a job ID is a UUID; anything of letters, digits and hyphens
// up to 64 characters is looked up.
func validCursor(s string) bool {
	if len(s) > maxCursor {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// ParseQuery reads a search from URL parameters q, city, category,
// min_pay_fen, pay_unit, limit and before. Other parameters are ignored; a
// parameter given twice, a number that is not plain decimal digits, or a
// value Search would refuse is an errs.Invalid naming the parameter.
func ParseQuery(v url.Values) (Query, error) {
	for _, p := range queryParams {
		if len(v[p]) > 1 {
			return Query{}, invalid(p, "参数只能给出一次", "give this parameter once")
		}
	}
	q := Query{Text: v.Get("q"), City: v.Get("city"), Category: v.Get("category"), PayUnit: v.Get("pay_unit"),
		From: v.Get("from"), To: v.Get("to"), Before: v.Get("before")}
	var ok bool
	if s := v.Get("min_pay_fen"); s != "" {
		if q.MinPayFen, ok = decimal(s, MaxPayFen); !ok {
			return Query{}, invalid("min_pay_fen", fmt.Sprintf("最低薪酬须为0至%d分的整数", MaxPayFen), fmt.Sprintf("the minimum pay must be a whole number of fen from 0 to %d", MaxPayFen))
		}
	}
	if s := v.Get("limit"); s != "" {
		n, ok := decimal(s, MaxLimit)
		if !ok || n == 0 {
			return Query{}, invalid("limit", fmt.Sprintf("每页条数须为1至%d的整数", MaxLimit), fmt.Sprintf("the limit must be a whole number from 1 to %d", MaxLimit))
		}
		q.Limit = int(n)
	}
	if err := q.check(); err != nil {
		return Query{}, err
	}
	return q, nil
}

// decimal parses s, ASCII digits only (no sign, no spaces), as a number up
// to max.
func decimal(s string, max int64) (int64, bool) {
	if s == "" || len(s) > 12 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n <= max
}

// Values is the inverse of ParseQuery: q as URL parameters, without the
// ones left empty, for the link to the next page.
func (q Query) Values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("q", q.Text)
	set("city", q.City)
	set("category", q.Category)
	if q.MinPayFen != 0 {
		v.Set("min_pay_fen", strconv.FormatInt(q.MinPayFen, 10))
	}
	set("pay_unit", q.PayUnit)
	set("from", q.From)
	set("to", q.To)
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	set("before", q.Before)
	return v
}

// likeEscape is the LIKE escape character of Search.
const likeEscape = '!'

// escapeLike makes s match itself literally in a LIKE pattern escaped by
// likeEscape: the escape character, % and _ are escaped.
func escapeLike(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == likeEscape || r == '%' || r == '_' {
			b.WriteRune(likeEscape)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// seqCol is the column that orders jobs by insertion: SQLite's rowid,
// PostgreSQL's identity column.
func (s *Store) seqCol() string {
	if s.db.Engine() == store.Postgres {
		return "seq"
	}
	return "rowid"
}

// Search finds open jobs, newest first. Text is matched through the
// full-text index (see terms.go): every word and every CJK run of the text
// must occur in the title or description. A page ends at Limit jobs; pass
// the last job's ID as Before for the next page.
func (s *Store) Search(ctx context.Context, q Query) ([]Job, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	seq := "j." + s.seqCol()
	from := `jobs j`
	where := []string{`j.status = ?`}
	args := []any{Open}
	tq := parseText(q.Text)
	if !tq.empty() {
		if s.db.Engine() == store.SQLite {
			from = `jobs_fts f JOIN jobs j ON j.rowid = f.rowid`
			seq = "f.rowid"
			where = append([]string{`jobs_fts MATCH ?`}, where...)
			args = append([]any{tq.fts5()}, args...)
		} else {
			if terms := tq.arrayTerms(); len(terms) > 0 {
				where = append(where, `j.terms @> ?::text[]`)
				args = append(args, terms)
			}
			// The array keeps no order: recheck runs of three or more
			// characters, and single characters, as substrings.
			for _, sub := range append(slices.Clone(tq.long), tq.singles...) {
				where = append(where, `(LOWER(j.title) LIKE ? ESCAPE '!' OR LOWER(j.description) LIKE ? ESCAPE '!')`)
				p := "%" + escapeLike(sub) + "%"
				args = append(args, p, p)
			}
		}
	}
	if q.City != "" {
		where = append(where, `j.city = ?`)
		args = append(args, q.City)
	}
	if q.Category != "" {
		where = append(where, `j.category = ?`)
		args = append(args, q.Category)
	}
	if q.MinPayFen > 0 {
		where = append(where, `j.pay_fen >= ?`)
		args = append(args, q.MinPayFen)
	}
	if q.PayUnit != "" {
		where = append(where, `j.pay_unit = ?`)
		args = append(args, q.PayUnit)
	}
	if q.From != "" {
		t, _ := day("from", q.From)
		where = append(where, `(j.ends_at IS NULL OR j.ends_at > ?)`)
		args = append(args, t.UnixMicro())
	}
	if q.To != "" {
		t, _ := day("to", q.To)
		where = append(where, `(j.starts_at IS NULL OR j.starts_at < ?)`)
		args = append(args, t.AddDate(0, 0, 1).UnixMicro())
	}
	if q.Before != "" {
		var at int64
		err := s.db.QueryRow(ctx, `SELECT `+s.seqCol()+` FROM jobs WHERE id = ?`, q.Before).Scan(&at)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, invalid("before", "翻页游标不是已有的职位", "the cursor names no job")
		}
		if err != nil {
			return nil, fmt.Errorf("jobs: search: %w", err)
		}
		where = append(where, seq+` < ?`)
		args = append(args, at)
	}
	args = append(args, q.Limit)
	return s.jobs(ctx, `SELECT `+prefixed("j.", jobCols)+` FROM `+from+` WHERE `+strings.Join(where, ` AND `)+
		` ORDER BY `+seq+` DESC LIMIT ?`, args...)
}

// prefixed qualifies each of a comma-separated column list with p.
func prefixed(p, cols string) string {
	fs := strings.Split(cols, ",")
	for i, f := range fs {
		fs[i] = p + strings.TrimSpace(f)
	}
	return strings.Join(fs, ", ")
}
