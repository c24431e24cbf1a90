package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// plot draws the runs as an SVG: cumulative violation-seconds over time (top) and
// ready renderers with the renderers the demand needs (bottom), one colour a loop.
func plot(rs []*result, length time.Duration) []byte {
	const w, h, left, right, top, gap, ph = 760, 520, 60, 20, 40, 70, 170
	colours := map[string]string{"reactive": "#d62728", "anticipating": "#1f77b4"}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14">Reactive vs anticipating loop, same seed and script (%s simulated)</text>`+"\n", left, length)
	maxViol, maxRep := 1.0, 1.0
	for _, r := range rs {
		for i := range r.t {
			maxViol = max(maxViol, r.cumViol[i])
			maxRep = max(maxRep, r.renders[i], r.need[i])
		}
	}
	maxRep = math.Ceil(maxRep)
	x := func(t time.Duration) float64 { return left + float64(w-left-right)*float64(t)/float64(length) }
	panel := func(y0 float64, title string, ymax float64, ticks int) func(v float64) float64 {
		fmt.Fprintf(&b, `<text x="%d" y="%.0f">%s</text>`+"\n", left, y0-8, title)
		fmt.Fprintf(&b, `<rect x="%d" y="%.0f" width="%d" height="%d" fill="none" stroke="#888"/>`+"\n", left, y0, w-left-right, ph)
		for i := 0; i <= ticks; i++ {
			v := ymax * float64(i) / float64(ticks)
			y := y0 + ph - ph*v/ymax
			fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" text-anchor="end">%.0f</text>`+"\n",
				left, w-right, y, y, left-5, y+4, v)
		}
		return func(v float64) float64 { return y0 + ph - ph*v/ymax }
	}
	line := func(ts []time.Duration, vs []float64, y func(float64) float64, colour, dash string) {
		var pts []string
		for i, t := range ts {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(t), y(vs[i])))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", colour, dash, strings.Join(pts, " "))
	}
	y1 := panel(top+20, "SLO-violation-seconds, cumulative", math.Ceil(maxViol/10)*10, 5)
	for _, r := range rs {
		line(r.t, r.cumViol, y1, colours[r.mode], "")
	}
	y2top := float64(top + 20 + ph + gap)
	y2 := panel(y2top, "ready renderers (dashed: users / 40, what the demand needs)", maxRep, int(maxRep))
	for _, r := range rs {
		line(r.t, r.renders, y2, colours[r.mode], "")
	}
	if len(rs) > 0 {
		line(rs[0].t, rs[0].need, y2, "#555", ` stroke-dasharray="4 3"`)
	}
	// Time axis.
	step := 30 * time.Minute
	if length <= time.Hour {
		step = 5 * time.Minute
	}
	for t := time.Duration(0); t <= length; t += step {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">+%s</text>`+"\n", x(t), y2top+ph+16, shortDur(t))
	}
	// Legend.
	lx := float64(w - right - 260)
	for i, r := range rs {
		y := float64(top) + 4 + float64(i)*0
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.0f" y2="%.0f" stroke="%s" stroke-width="3"/><text x="%.0f" y="%.0f">%s</text>`+"\n",
			lx+float64(i)*130, lx+float64(i)*130+20, y, y, colours[r.mode], lx+float64(i)*130+25, y+4, r.mode)
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

func shortDur(d time.Duration) string {
	return strings.TrimSuffix(strings.TrimSuffix(d.String(), "0s"), "0m")
}
