package sim

import "github.com/continuum-xr/continuum/internal/errkind"

// Sentinel errors, matching the same kinds of the other continuum packages with
// errors.Is (errors.Is(err, metrics.ErrNoData) holds for every no-data error here,
// errors.Is(err, act.ErrNotReady) for ErrNotReady).
var (
	// ErrInvalid: an argument or an event breaks a rule; the message names the field.
	ErrInvalid = errkind.New(errkind.Invalid, "sim: invalid")
	// ErrNotFound: an event or a call names a cluster, site or link the world does
	// not have.
	ErrNotFound = errkind.New(errkind.NotFound, "sim: not found")
	// ErrUnreachable: the cluster is down (FailCluster); metrics about it also wrap
	// metrics.ErrNoData.
	ErrUnreachable = errkind.New(errkind.Unreachable, "sim: unreachable")
	// ErrNotReady: Run's function was still running when its limit of simulated time
	// passed.
	ErrNotReady = errkind.New(errkind.NotReady, "sim: not ready")
)
