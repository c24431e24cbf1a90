package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

var (
	colP50      = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colP90      = color.RGBA{R: 0x9e, G: 0xc5, B: 0xe8, A: 0xff}
	colInjected = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colOK       = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	colBad      = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colPaper    = color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}
)

// writePlot draws three panels side by side into file (SVG or PNG by extension):
// (a) p50 and p90 measured here per scenario, with the injected delay; (b) the paper's
// p50s (Fig. 4, §5.2); (c) the engine's chain latency per placement against the budget,
// with its own choice and the relays' measurement of it.
func writePlot(file string, r *report) error {
	a, err := measuredPanel(r)
	if err != nil {
		return err
	}
	b, err := paperPanel()
	if err != nil {
		return err
	}
	c, err := enginePanel(r)
	if err != nil {
		return err
	}
	width, height := 38*vg.Centimeter, 13*vg.Centimeter
	var cw vg.CanvasWriterTo
	switch ext := strings.ToLower(filepath.Ext(file)); ext {
	case ".svg":
		cw = vgsvg.New(width, height)
	case ".png":
		cw = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(120))}
	default:
		return fmt.Errorf("-o: want a .svg or .png file, got %q", file)
	}
	dc := draw.New(cw)
	dc.FillPolygon(color.White, []vg.Point{dc.Min, {X: dc.Max.X, Y: dc.Min.Y}, dc.Max, {X: dc.Min.X, Y: dc.Max.Y}})
	tiles := draw.Tiles{Rows: 1, Cols: 3, PadX: vg.Centimeter, PadTop: vg.Millimeter * 4,
		PadBottom: vg.Millimeter * 4, PadLeft: vg.Millimeter * 4, PadRight: vg.Millimeter * 4}
	plots := [][]*plot.Plot{{a, b, c}}
	canvases := plot.Align(plots, tiles, dc)
	for i, p := range plots[0] {
		p.Draw(canvases[0][i])
	}
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	if _, err := cw.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("-o: writing %s: %w", file, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("-o: writing %s: %w", file, err)
	}
	return nil
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func scenarioLabels() []string {
	out := make([]string, len(scenarios))
	for i, s := range scenarios {
		out[i] = fmt.Sprintf("%d\n%s", s.ID, strings.Replace(s.Name, ", ", "\n", 1))
	}
	return out
}

func bars(vals []float64, width vg.Length, offset vg.Length, col color.Color) (*plotter.BarChart, error) {
	b, err := plotter.NewBarChart(plotter.Values(vals), width)
	if err != nil {
		return nil, fmt.Errorf("plot: %w", err)
	}
	b.Offset, b.Color, b.LineStyle.Width = offset, col, 0
	return b, nil
}

func hline(y float64, n int, col color.Color) (*plotter.Line, error) {
	l, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: y}, {X: float64(n) - 0.5, Y: y}})
	if err != nil {
		return nil, fmt.Errorf("plot: %w", err)
	}
	l.Color, l.Width, l.Dashes = col, vg.Points(1.2), []vg.Length{vg.Points(4), vg.Points(3)}
	return l, nil
}

func measuredPanel(r *report) (*plot.Plot, error) {
	p := plot.New()
	cfg := r.Config
	p.Title.Text = fmt.Sprintf("(a) Measured here: render -> streaming -> client\n%d frames/scenario, %g fps, %d B, buffer %s",
		cfg.Frames, cfg.FPS, cfg.FrameSize, cfg.Buffer)
	p.Y.Label.Text = "end-to-end frame latency (ms)"
	p.Y.Min = 0
	var p50, p90 []float64
	var inj plotter.XYs
	for i, m := range r.Measured {
		p50 = append(p50, msf(m.Stats.P50))
		p90 = append(p90, msf(m.Stats.P90))
		inj = append(inj, plotter.XY{X: float64(i), Y: msf(m.Injected())})
	}
	w := vg.Points(14)
	b50, err := bars(p50, w, -w/2, colP50)
	if err != nil {
		return nil, err
	}
	b90, err := bars(p90, w, w/2, colP90)
	if err != nil {
		return nil, err
	}
	p.Add(b50, b90)
	p.Legend.Add("p50", b50)
	p.Legend.Add("p90", b90)
	for i, xy := range inj {
		// A short mark across both bars at the injected delay.
		l, err := plotter.NewLine(plotter.XYs{{X: xy.X - 0.3, Y: xy.Y}, {X: xy.X + 0.3, Y: xy.Y}})
		if err != nil {
			return nil, fmt.Errorf("plot: %w", err)
		}
		l.Color, l.Width = colInjected, vg.Points(2)
		p.Add(l)
		if i == 0 {
			p.Legend.Add("injected: network + processing + buffer", l)
		}
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.NominalX(scenarioLabels()...)
	p.Y.Max = maxOf(p90) * 1.35
	p.Y.Tick.Marker = stepTicks(p.Y.Max)
	return p, nil
}

func paperPanel() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "(b) The paper, Fig. 4 (§5.2): p50 per scenario\n(the application's own latency included)"
	p.Y.Label.Text = "end-to-end frame latency (ms)"
	vals := make([]float64, len(scenarios))
	for i, s := range scenarios {
		vals[i] = msf(s.PaperP50)
	}
	b, err := bars(vals, vg.Points(20), 0, colPaper)
	if err != nil {
		return nil, err
	}
	l, err := hline(msf(paperP90), len(scenarios), colP50)
	if err != nil {
		return nil, err
	}
	lbl, err := plotter.NewLabels(plotter.XYLabels{XYs: barTops(vals), Labels: intLabels(vals)})
	if err != nil {
		return nil, fmt.Errorf("plot: %w", err)
	}
	for i := range lbl.TextStyle {
		lbl.TextStyle[i].XAlign = draw.XCenter
	}
	p.Add(b, l, lbl)
	p.Legend.Add("p50 (text of §5.2)", b)
	p.Legend.Add("p90 \"around the 1-second mark\"", l)
	p.Legend.Top, p.Legend.Left = true, true
	p.Y.Min, p.Y.Max = 0, 1350
	p.Y.Tick.Marker = stepTicks(p.Y.Max)
	p.NominalX(scenarioLabels()...)
	return p, nil
}

func enginePanel(r *report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("(c) Placement engine: users -> render -> streaming -> users\n%s stream, %s budget, users in Geneva",
		r.Config.Bandwidth, r.Config.Budget)
	p.Y.Label.Text = "chain latency (ms)"
	n := len(r.Evaluations)
	if r.Choice != nil {
		n++
	}
	ok, bad := make([]float64, n), make([]float64, n)
	labels := scenarioLabels()
	for i, ev := range r.Evaluations {
		if ev.Feasible {
			ok[i] = msf(ev.Latency)
		} else {
			bad[i] = msf(ev.Latency)
		}
	}
	if ch := r.Choice; ch != nil {
		ok[n-1] = msf(ch.Chain.Used.Std())
		labels = append(labels, fmt.Sprintf("engine:\n%s,\n%s", ch.Render, ch.Streaming))
	}
	w := vg.Points(20)
	bOK, err := bars(ok, w, 0, colOK)
	if err != nil {
		return nil, err
	}
	bBad, err := bars(bad, w, 0, colBad)
	if err != nil {
		return nil, err
	}
	budget, err := hline(msf(r.Config.Budget), n, color.Black)
	if err != nil {
		return nil, err
	}
	p.Add(bOK, bBad, budget)
	p.Legend.Add("feasible (engine's prediction)", bOK)
	p.Legend.Add("infeasible", bBad)
	p.Legend.Add("budget", budget)
	if r.Choice != nil {
		meas, err := plotter.NewScatter(plotter.XYs{{X: float64(n - 1), Y: msf(r.ChoiceMeasured.Stats.P50)}})
		if err != nil {
			return nil, fmt.Errorf("plot: %w", err)
		}
		meas.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(4), Shape: draw.RingGlyph{}}
		p.Add(meas)
		p.Legend.Add("engine's choice, measured p50 (relays)", meas)
	} else {
		p.Title.Text += "\n(the engine finds no feasible placement)"
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Y.Min = 0
	p.Y.Max = max(maxOf(ok), maxOf(bad), msf(r.Config.Budget)) * 1.6
	p.Y.Tick.Marker = stepTicks(p.Y.Max)
	p.NominalX(labels...)
	return p, nil
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func barTops(v []float64) plotter.XYs {
	out := make(plotter.XYs, len(v))
	for i, y := range v {
		out[i] = plotter.XY{X: float64(i), Y: y + 15}
	}
	return out
}

func intLabels(v []float64) []string {
	out := make([]string, len(v))
	for i, y := range v {
		out[i] = fmt.Sprintf("%.0f", y)
	}
	return out
}

// stepTicks returns a ticker with about six labelled ticks from 0 to max, at a step of
// 1, 2 or 5 times a power of ten.
func stepTicks(max float64) plot.Ticker {
	step := 1.0
	if max > 0 {
		raw := max / 6
		pow := math.Pow(10, math.Floor(math.Log10(raw)))
		step = pow * 10
		for _, m := range []float64{1, 2, 5} {
			if m*pow >= raw {
				step = m * pow
				break
			}
		}
	}
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		var out []plot.Tick
		for i := 0; float64(i)*step <= hi+step/1e6; i++ {
			if v := float64(i) * step; v >= lo-step/1e6 {
				out = append(out, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', 6, 64)})
			}
		}
		return out
	})
}
