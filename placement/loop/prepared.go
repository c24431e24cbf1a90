package loop

import (
	"context"

	"github.com/continuum-xr/continuum/placement"
)

// prepared keeps a placement.Prepared problem across rounds, so a round pays only for
// what changed since the last one (applications validated once, the topology
// re-routed only when the measured link RTTs change). Its plans are those of the
// stateless engine on the same inputs.
type prepared struct {
	pp *placement.Prepared
}

// place updates the prepared problem to snap and apps and places req (whose Apps are
// taken from apps) on it.
func (p *prepared) place(ctx context.Context, e *placement.Engine, snap *placement.Snapshot, apps []placement.Application, req *placement.Request) (*placement.Plan, error) {
	if p.pp == nil {
		pp, err := e.Prepare(snap, apps)
		if err != nil {
			return nil, err
		}
		p.pp = pp
	} else if err := p.pp.Update(snap, apps); err != nil {
		return nil, err
	}
	r := *req
	r.Apps = nil
	return p.pp.Place(ctx, &r)
}
