package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
)

// Responder echoes continuum probe packets back to their sender: what a user runs as
// a small pod per cluster, exposed on a UDP port reachable from the other clusters.
// It answers only well-formed probe requests, with exactly the bytes it received
// (kind flipped to reply), so it cannot amplify traffic.
type Responder struct {
	conn    *net.UDPConn
	started atomic.Bool
	once    sync.Once
	echoed  atomic.Uint64
	ignored atomic.Uint64
}

// NewResponder binds a UDP socket to addr ("host:port"; port 0 picks a free one, e.g.
// "127.0.0.1:0" in tests, ":7946" in a pod) and returns a Responder that echoes once
// Serve runs. Close it if Serve is never called.
func NewResponder(addr string) (*Responder, error) {
	if addr == "" {
		return nil, fmt.Errorf("probe: responder addr: must not be empty (use \":0\" for any free port)")
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("probe: responder addr %q: %w", addr, err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("probe: responder: listening on %q: %w", addr, err)
	}
	return &Responder{conn: conn}, nil
}

// Addr returns the address the Responder listens on.
func (r *Responder) Addr() *net.UDPAddr { return r.conn.LocalAddr().(*net.UDPAddr) }

// Echoed returns how many probes the Responder has echoed.
func (r *Responder) Echoed() uint64 { return r.echoed.Load() }

// Ignored returns how many packets the Responder received and did not echo (not a
// probe request).
func (r *Responder) Ignored() uint64 { return r.ignored.Load() }

// Close closes the socket; Serve then returns. It is idempotent.
func (r *Responder) Close() error {
	var err error
	r.once.Do(func() { err = r.conn.Close() })
	return err
}

// Serve echoes probes until ctx ends, then closes the socket and returns nil. It
// returns an error when called a second time or when the socket fails for another
// reason than being closed.
func (r *Responder) Serve(ctx context.Context) error {
	if !r.started.CompareAndSwap(false, true) {
		return errors.New("probe: Responder.Serve called twice")
	}
	stop := context.AfterFunc(ctx, func() { _ = r.Close() })
	defer stop()
	buf := make([]byte, MaxPacketSize+1)
	for {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("probe: responder: socket closed")
			}
			// Transient errors (e.g. a buffer error) do not stop the responder; the
			// loop ends when the socket is closed.
			continue
		}
		p, err := decode(buf[:n])
		if err != nil || p.kind != kindRequest {
			r.ignored.Add(1)
			continue
		}
		buf[offsetKind] = kindReply
		if _, err := r.conn.WriteToUDPAddrPort(buf[:n], from); err == nil {
			r.echoed.Add(1)
		}
	}
}
