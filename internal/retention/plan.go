package retention

import (
	"context"
)

// Plan is the dry run: what a Run at this moment would delete, grouped by
// rule, field and reason, in the order a run applies them, with the number
// of rows and the earliest moment one of them became due. It reads and
// changes nothing else: no lease, no run row, no audit entry. Subjects
// under a legal hold and erased subjects are left out, as a run leaves them.
func (s *Sweeper) Plan(ctx context.Context) ([]Group, error) {
	var out []Group
	for _, r := range s.rules(s.clk.Now()) {
		gs, err := r.plan(ctx, s.db)
		if err != nil {
			return nil, err
		}
		out = append(out, gs...)
	}
	return out, nil
}
