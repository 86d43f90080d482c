package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Nearby jobs (GIG-4). The worker's position is an argument of one call:
// it is compared with the jobs' coordinates in memory and goes nowhere
// else — not into a table, a log line or an audit entry — so nothing
// stored can be joined into a track of where someone was.
//
// Jobs carry the 0.1° grid cell of their workplace (about 11 km north to
// south); a search reads the cells its radius covers through the
// (cell, status) index and measures great-circle distances.

// Limits of a nearby search.
const (
	DefaultRadiusKm = 5.0
	MaxRadiusKm     = 30.0
	cellDeg         = 0.1
	earthRadiusM    = 6_371_000.0
)

// cellOf is the grid cell of a point: row and column of cellDeg squares
// counted from (-90, -180).
func cellOf(lat, lng float64) int64 {
	row := int64(math.Floor((lat + 90) / cellDeg))
	col := int64(math.Floor((lng + 180) / cellDeg))
	return row*10_000 + col
}

// cellsAround are the cells a circle of radiusKm around (lat, lng) touches.
func cellsAround(lat, lng, radiusKm float64) []int64 {
	dLat := radiusKm / 111.0
	// Longitude degrees shrink with the cosine of the latitude; take the
	// circle's edge nearest the pole.
	cos := math.Cos((math.Abs(lat) + dLat) * math.Pi / 180)
	dLng := radiusKm / (111.0 * math.Max(cos, 0.01))
	var out []int64
	r0, r1 := math.Floor((lat-dLat+90)/cellDeg), math.Floor((lat+dLat+90)/cellDeg)
	c0, c1 := math.Floor((lng-dLng+180)/cellDeg), math.Floor((lng+dLng+180)/cellDeg)
	for r := r0; r <= r1; r++ {
		for c := c0; c <= c1; c++ {
			out = append(out, int64(r)*10_000+int64(c))
		}
	}
	return out
}

// DistanceM is the great-circle (haversine) distance in metres.
func DistanceM(lat1, lng1, lat2, lng2 float64) float64 {
	rad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*rad, (lng2-lng1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthRadiusM * math.Asin(math.Min(1, math.Sqrt(a)))
}

// NearbyQuery is a nearby search from the worker's current position.
type NearbyQuery struct {
	Lat, Lng float64
	RadiusKm float64 // default DefaultRadiusKm, at most MaxRadiusKm
	Category string  // optional, one of Categories
	Limit    int     // default DefaultLimit, at most MaxLimit
}

// NearbyJob is a job with its distance from the searcher.
type NearbyJob struct {
	Job
	DistanceM int `json:"distance_m"`
}

func (q *NearbyQuery) check() error {
	if math.IsNaN(q.Lat) || math.IsNaN(q.Lng) || q.Lat < -90 || q.Lat > 90 || q.Lng < -180 || q.Lng > 180 {
		return invalid("lat", "当前位置的经纬度无效", "the position's latitude or longitude is out of range")
	}
	if q.RadiusKm == 0 {
		q.RadiusKm = DefaultRadiusKm
	}
	if math.IsNaN(q.RadiusKm) || q.RadiusKm < 0.1 || q.RadiusKm > MaxRadiusKm {
		return invalid("radius_km", fmt.Sprintf("搜索半径须为0.1至%g公里", MaxRadiusKm), fmt.Sprintf("the radius must be 0.1 to %g km", MaxRadiusKm))
	}
	if q.Category != "" && !slices.Contains(Categories, q.Category) {
		return invalid("category", "未知的职位类别,可选:"+strings.Join(Categories, "、"), "unknown job category; one of "+strings.Join(Categories, ", "))
	}
	if q.Limit < 0 || q.Limit > MaxLimit {
		return invalid("limit", fmt.Sprintf("每页条数须为1至%d", MaxLimit), fmt.Sprintf("the limit must be 1 to %d", MaxLimit))
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	return nil
}

// Nearby returns the open jobs within the radius of the position, nearest
// first (ties: newest first), at most Limit. It works in two steps: the
// covering cell index gives every candidate's coordinates (no job row is
// read), distances pick the page, and only the page's jobs are fetched.
func (s *Store) Nearby(ctx context.Context, q NearbyQuery) ([]NearbyJob, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	cells := cellsAround(q.Lat, q.Lng, q.RadiusKm)
	args := make([]any, 0, len(cells)+2)
	for _, c := range cells {
		args = append(args, c)
	}
	where := `cell IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(cells)), ", ") + `) AND status = ?`
	args = append(args, Open)
	if q.Category != "" {
		where += ` AND category = ?`
		args = append(args, q.Category)
	}
	seq := s.seqCol()
	rows, err := s.db.Query(ctx, `SELECT `+seq+`, lat_e6, lng_e6 FROM jobs WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("jobs: nearby: %w", err)
	}
	type hit struct {
		seq int64
		d   float64
	}
	var hits []hit
	limitM := q.RadiusKm * 1000
	for rows.Next() {
		var h hit
		var lat, lng sql.NullInt64
		if err := rows.Scan(&h.seq, &lat, &lng); err != nil {
			rows.Close()
			return nil, fmt.Errorf("jobs: nearby: %w", err)
		}
		if !lat.Valid || !lng.Valid {
			continue
		}
		if h.d = DistanceM(q.Lat, q.Lng, float64(lat.Int64)/1e6, float64(lng.Int64)/1e6); h.d <= limitM {
			hits = append(hits, h)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: nearby: %w", err)
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if a.d != b.d {
			if a.d < b.d {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.seq, a.seq)
	})
	hits = hits[:min(len(hits), q.Limit)]
	if len(hits) == 0 {
		return []NearbyJob{}, nil
	}
	page := make([]any, len(hits))
	for i, h := range hits {
		page[i] = h.seq
	}
	byseq := map[int64]Job{}
	rows, err = s.db.Query(ctx, `SELECT `+jobCols+`, `+seq+` FROM jobs WHERE `+seq+` IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(page)), ", ")+`)`, page...)
	if err != nil {
		return nil, fmt.Errorf("jobs: nearby: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int64
		j, err := scanJob(scanPlus{rows, &n})
		if err != nil {
			return nil, fmt.Errorf("jobs: nearby: %w", err)
		}
		byseq[n] = j
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: nearby: %w", err)
	}
	out := make([]NearbyJob, 0, len(hits))
	for _, h := range hits {
		if j, ok := byseq[h.seq]; ok {
			out = append(out, NearbyJob{Job: j, DistanceM: int(math.Round(h.d))})
		}
	}
	return out, nil
}

// scanPlus scans a job row followed by extra columns.
type scanPlus struct {
	row   interface{ Scan(...any) error }
	extra *int64
}

func (s scanPlus) Scan(dest ...any) error { return s.row.Scan(append(dest, s.extra)...) }
