package sim

import (
	"context"

	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/provision/provisionfake"
)

// Provisioner is the Cluster API of the world: a provisionfake.Fake (whose methods it
// has: InjectFault, Calls, Scale, Kubeconfig, ...) that keeps the world consistent
// with what its readers see. A cluster created through it joins the topology, and
// becomes known to Peering(), once it is ready: at the first tick that finds it
// ready, or as soon as Get, List or Watch return it ready, so that whoever saw it
// ready can peer with it at once. It leaves the topology at the first tick after its
// deletion starts or it fails. The fake's call log also holds the world's List
// calls, one per tick.
type Provisioner struct {
	*provisionfake.Fake
	w *World
}

var (
	_ provision.Provisioner      = (*Provisioner)(nil)
	_ provision.Scaler           = (*Provisioner)(nil)
	_ provision.KubeconfigGetter = (*Provisioner)(nil)
)

// Get returns the cluster. See provision.Reader.
func (p *Provisioner) Get(ctx context.Context, ref provision.Ref) (*provision.Cluster, error) {
	c, err := p.Fake.Get(ctx, ref)
	if err == nil {
		p.w.observed(c)
	}
	return c, err
}

// List returns the clusters that match opts. See provision.Reader.
func (p *Provisioner) List(ctx context.Context, opts provision.ListOptions) ([]*provision.Cluster, error) {
	cs, err := p.Fake.List(ctx, opts)
	for _, c := range cs {
		p.w.observed(c)
	}
	return cs, err
}

// Watch streams the state of one cluster. See provision.Reader.
func (p *Provisioner) Watch(ctx context.Context, ref provision.Ref) (<-chan provision.Change, error) {
	in, err := p.Fake.Watch(ctx, ref)
	if err != nil {
		return nil, err
	}
	out := make(chan provision.Change)
	go func() {
		defer close(out)
		for ch := range in {
			p.w.observed(ch.Cluster)
			select {
			case out <- ch:
			case <-ctx.Done():
				// Drain so the inner watch ends (it closes when ctx ends).
				for range in {
				}
				return
			}
		}
	}()
	return out, nil
}
