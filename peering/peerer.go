package peering

import (
	"context"
	"errors"
)

// PeeringReader reads peerings. Callers that only watch or wait take a
// PeeringReader.
type PeeringReader interface {
	// GetPeering returns the peering k, or an error wrapping ErrNotFound.
	GetPeering(ctx context.Context, k Key) (*Peering, error)
	// ListPeerings returns the peerings that match opts, sorted by consumer then
	// provider (SortPeerings).
	ListPeerings(ctx context.Context, opts ListOptions) ([]*Peering, error)
	// WatchPeering streams the state of one peering. The channel first carries the
	// current state (Gone when it does not exist), then a change after every
	// change; changes may be coalesced. A change with Err set reports that the
	// watch broke; the channel is closed after it, and when ctx ends.
	WatchPeering(ctx context.Context, k Key) (<-chan PeeringChange, error)
}

// Peerer creates and removes peerings.
type Peerer interface {
	// Peer starts a peering from req.Consumer to req.Provider and returns without
	// waiting (see WaitPeered, EnsurePeered). An invalid request gives an error
	// wrapping ErrInvalid, an existing peering one wrapping ErrAlreadyPeered, an
	// unknown cluster one wrapping ErrNotFound.
	Peer(ctx context.Context, req PeerRequest) error
	// Unpeer removes what Peer created, on both clusters. A missing peering gives
	// an error wrapping ErrNotPeered; a peering its consumer still offloads to, one
	// wrapping ErrInvalid naming the namespaces.
	Unpeer(ctx context.Context, k Key) error
}

// OffloadingReader reads offloaded namespaces.
type OffloadingReader interface {
	// GetOffloading returns the offloading of the namespace, or an error wrapping
	// ErrNotFound.
	GetOffloading(ctx context.Context, ref NamespaceRef) (*Offloading, error)
	// WatchOffloading streams the state of one offloading, like WatchPeering.
	WatchOffloading(ctx context.Context, ref NamespaceRef) (<-chan OffloadingChange, error)
}

// Offloader offloads namespaces to peered clusters.
type Offloader interface {
	// Offload offloads the namespace (which must exist) to spec.Targets, or changes
	// the targets of an offloaded namespace when only Targets differ (Liqo does not
	// allow changing the strategies: that is an error wrapping ErrInvalid; Unoffload
	// first). A target without a ready peering from spec.Cluster gives an error
	// wrapping ErrNotPeered; a missing namespace, ErrNotFound. Applying the same
	// spec again writes nothing.
	Offload(ctx context.Context, spec OffloadSpec) error
	// Unoffload stops offloading the namespace. Liqo then deletes the remote
	// namespaces and everything running in them. A namespace not offloaded gives
	// an error wrapping ErrNotFound.
	Unoffload(ctx context.Context, ref NamespaceRef) error
}

// Interface is a complete backend: every role.
type Interface interface {
	PeeringReader
	Peerer
	OffloadingReader
	Offloader
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
