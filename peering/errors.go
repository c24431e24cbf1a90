package peering

import "github.com/continuum-xr/continuum/internal/errkind"

// Sentinel errors. They match the same kinds of the other continuum packages with
// errors.Is (errors.Is(err, provision.ErrNotFound) holds for peering.ErrNotFound).
var (
	// ErrNotFound: no peering between those clusters, no offloading of that
	// namespace, or a cluster the backend does not know.
	ErrNotFound = errkind.New(errkind.NotFound, "peering: not found")
	// ErrNotPeered: the operation needs an established peering that does not exist
	// or is not ready (offloading to, pinning to, or unpeering a cluster).
	ErrNotPeered = errkind.New(errkind.NotPeered, "peering: not peered")
	// ErrAlreadyPeered: Peer was called for a consumer and provider already peered
	// (use EnsurePeered for an idempotent peer).
	ErrAlreadyPeered = errkind.New(errkind.AlreadyExists, "peering: already peered")
	// ErrNotReady: a peering or an offloading did not become ready in time, or Liqo
	// reported a failure; or an input Liqo provides (cluster ID, CIDRs) is missing.
	ErrNotReady = errkind.New(errkind.NotReady, "peering: not ready")
	// ErrInvalid: an argument breaks a rule; the message names the field.
	ErrInvalid = errkind.New(errkind.Invalid, "peering: invalid")
)
