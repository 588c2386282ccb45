package cost

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// PlotAuditVolume draws the audit pipeline's monthly cost against the CloudTrail volume
// on log-log axes, one line per component and the total, as a PNG.
func PlotAuditVolume(w io.Writer, rows []AuditRow, fraction float64) error {
	if len(rows) < 2 {
		return fmt.Errorf("plot: need at least two volumes, have %d", len(rows))
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Audit pipeline cost per month (%.0f%% of events pass the patterns)", fraction*100)
	p.X.Label.Text = "CloudTrail events per month"
	p.Y.Label.Text = "USD per month"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker = decadeTicks{label: events}
	p.Y.Tick.Marker = decadeTicks{label: dollars}
	// Top left is empty: every line rises to the right.
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(20), -vg.Points(8)
	p.Add(plotter.NewGrid())

	series := []struct {
		name  string
		get   func(AuditRow) float64
		color color.RGBA
		width vg.Length
	}{
		{"total", AuditRow.Total, color.RGBA{A: 255}, 3},
		{"Lambda", func(r AuditRow) float64 { return r.Lambda }, color.RGBA{R: 230, G: 120, A: 255}, 1.5},
		{"X-Ray", func(r AuditRow) float64 { return r.XRay }, color.RGBA{R: 150, G: 60, B: 200, A: 255}, 1.5},
		{"DynamoDB", func(r AuditRow) float64 { return r.DynamoDB }, color.RGBA{B: 220, A: 255}, 1.5},
		{"Logs", func(r AuditRow) float64 { return r.Logs }, color.RGBA{G: 150, A: 255}, 1.5},
		{"SNS", func(r AuditRow) float64 { return r.SNS }, color.RGBA{R: 200, A: 255}, 1.5},
	}
	var hidden []string
	for _, s := range series {
		pts := make(plotter.XYs, 0, len(rows))
		top := 0.0
		for _, r := range rows {
			// A log axis cannot show zero; a cent is below anything worth reading here.
			pts = append(pts, plotter.XY{X: r.EventsPerMonth, Y: max(s.get(r), 0.01)})
			top = max(top, s.get(r))
		}
		if top < 0.01 {
			hidden = append(hidden, s.name)
			continue
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return fmt.Errorf("plot %s: %w", s.name, err)
		}
		l.Color, l.Width = s.color, s.width
		sc.Color, sc.Shape = s.color, draw.CircleGlyph{}
		p.Add(l, sc)
		p.Legend.Add(s.name, l)
	}
	// Said in the legend: a longer axis label would be placed wrongly on a log axis
	// (gonum centres it at the arithmetic middle of the range) and squeeze the plot.
	if len(hidden) > 0 {
		p.Legend.Add(fmt.Sprintf("(%s: under $0.01, not drawn)", strings.Join(hidden, ", ")))
	}
	wt, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if _, err := wt.WriteTo(w); err != nil {
		return fmt.Errorf("plot: write png: %w", err)
	}
	return nil
}

// decadeTicks puts a tick at 1..9 times every power of ten of the range, labelled at 1, 2
// and 5 times it.
type decadeTicks struct{ label func(float64) string }

func (d decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		base := math.Pow(10, e)
		for m := 1.0; m < 10; m++ {
			v := m * base
			if v < lo*0.999 || v > hi*1.001 {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = d.label(v)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

func events(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%gB", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%gk", v/1e3)
	}
	return fmt.Sprintf("%g", v)
}

func dollars(v float64) string {
	if v < 1 {
		return fmt.Sprintf("$%.2f", v)
	}
	return "$" + addThousands(fmt.Sprintf("%.0f", v))
}
