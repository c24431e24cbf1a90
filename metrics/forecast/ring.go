package forecast

// Ring keeps the newest points of a series, up to a fixed capacity: the bounded
// history of a series.
type Ring struct {
	buf   []Point
	start int
	n     int
}

// NewRing returns a ring of the given capacity (at least 1).
func NewRing(capacity int) *Ring { return &Ring{buf: make([]Point, max(capacity, 1))} }

// Add appends p, dropping the oldest point when the ring is full.
func (r *Ring) Add(p Point) {
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = p
		r.n++
		return
	}
	r.buf[r.start] = p
	r.start = (r.start + 1) % len(r.buf)
}

// Len is the number of points kept; Cap the most it keeps.
func (r *Ring) Len() int { return r.n }

// Cap is the ring's capacity.
func (r *Ring) Cap() int { return len(r.buf) }

// Points returns the points kept, oldest first (a copy).
func (r *Ring) Points() []Point {
	out := make([]Point, r.n)
	for i := range r.n {
		out[i] = r.buf[(r.start+i)%len(r.buf)]
	}
	return out
}

// Values returns the values kept, oldest first (a copy).
func (r *Ring) Values() []float64 {
	out := make([]float64, r.n)
	for i := range r.n {
		out[i] = r.buf[(r.start+i)%len(r.buf)].Value
	}
	return out
}

// Last returns the newest point; ok is false when the ring is empty.
func (r *Ring) Last() (p Point, ok bool) {
	if r.n == 0 {
		return Point{}, false
	}
	return r.buf[(r.start+r.n-1)%len(r.buf)], true
}

// Reset empties the ring.
func (r *Ring) Reset() { r.start, r.n = 0, 0 }
