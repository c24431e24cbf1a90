package experiment

import (
	"fmt"
	"image/color"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/continuum-xr/continuum/provision"
)

// PlotOptions configures WritePlot.
type PlotOptions struct {
	// Title is the plot's title.
	Title string
	// PaperPoints marks the two deployment times the paper states (PaperMin at 1
	// node, PaperMax at 25) where those sizes are on the plot.
	PaperPoints bool
}

// Plot size and colours.
var (
	plotWidth  = 16 * vg.Centimeter
	plotHeight = 10 * vg.Centimeter
	distColors = map[provision.Distribution]color.Color{
		provision.Kubeadm: color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
		provision.K3s:     color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	}
)

// WritePlot writes a plot like the paper's Fig. 3 to file, as SVG or PNG by its
// extension: grouped bars of the mean time to Available per cluster size (x) and
// distribution, with error bars of one standard deviation.
func WritePlot(file string, rows []Row, opts PlotOptions) error {
	if err := CheckPlotFile(file); err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("plot %s: no results", file)
	}
	var sizes []int
	var dists []provision.Distribution
	for _, r := range rows {
		if !slices.Contains(sizes, r.Nodes) {
			sizes = append(sizes, r.Nodes)
		}
		if !slices.Contains(dists, r.Distribution) {
			dists = append(dists, r.Distribution)
		}
	}
	slices.Sort(sizes)

	p := plot.New()
	p.Title.Text = opts.Title
	p.X.Label.Text = "cluster size (nodes: 1 control plane + n-1 workers)"
	p.Y.Label.Text = "time to Available (s)"
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())

	// Bars of one group share 80 % of a unit of x; the bar width in points follows
	// from the plot's width (about 2 cm of it go to the axis and margins).
	slot := 0.8 / float64(len(dists))
	barWidth := vg.Length(slot*0.9) * (plotWidth - 2*vg.Centimeter) / vg.Length(len(sizes))
	for j, d := range dists {
		means := make(plotter.Values, len(sizes))
		var errs errorPoints
		offset := (float64(j) - float64(len(dists)-1)/2) * slot
		for i, n := range sizes {
			k := slices.IndexFunc(rows, func(r Row) bool { return r.Nodes == n && r.Distribution == d })
			if k < 0 {
				continue // not measured: an empty slot
			}
			means[i] = rows[k].Total.Mean
			errs = append(errs, errorPoint{x: float64(i) + offset, y: rows[k].Total.Mean, sd: rows[k].Total.StdDev})
		}
		bars, err := plotter.NewBarChart(means, barWidth)
		if err != nil {
			return fmt.Errorf("plot %s: %w", file, err)
		}
		bars.XMin = offset
		bars.LineStyle.Width = vg.Length(0)
		bars.Color = distColors[d]
		p.Add(bars)
		p.Legend.Add(string(d), bars)
		if len(errs) > 0 {
			eb, err := plotter.NewYErrorBars(errs)
			if err != nil {
				return fmt.Errorf("plot %s: %w", file, err)
			}
			p.Add(eb)
		}
	}
	if opts.PaperPoints {
		var pts plotter.XYs
		for _, ref := range []struct {
			nodes int
			secs  float64
		}{{PaperMinNodes, PaperMin.Seconds()}, {PaperMaxNodes, PaperMax.Seconds()}} {
			if i := slices.Index(sizes, ref.nodes); i >= 0 {
				pts = append(pts, plotter.XY{X: float64(i), Y: ref.secs})
			}
		}
		if len(pts) > 0 {
			s, err := plotter.NewScatter(pts)
			if err != nil {
				return fmt.Errorf("plot %s: %w", file, err)
			}
			s.GlyphStyle = draw.GlyphStyle{Shape: draw.CrossGlyph{}, Radius: vg.Points(5), Color: color.Black}
			p.Add(s)
			p.Legend.Add("paper (stated in its text)", s)
		}
	}
	labels := make([]string, len(sizes))
	for i, n := range sizes {
		labels[i] = strconv.Itoa(n)
	}
	p.NominalX(labels...)
	// Headroom above the highest error bar for the legend.
	p.Y.Min, p.Y.Max = 0, p.Y.Max*1.1
	if err := p.Save(plotWidth, plotHeight, file); err != nil {
		return fmt.Errorf("plot %s: %w", file, err)
	}
	return nil
}

// errorPoint is a mean with its standard deviation, for plotter.NewYErrorBars.
type errorPoint struct{ x, y, sd float64 }

type errorPoints []errorPoint

func (e errorPoints) Len() int                        { return len(e) }
func (e errorPoints) XY(i int) (float64, float64)     { return e[i].x, e[i].y }
func (e errorPoints) YError(i int) (float64, float64) { return e[i].sd, e[i].sd }
