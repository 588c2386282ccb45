package cost

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
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
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = true, true
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
	for _, s := range series {
		pts := make(plotter.XYs, 0, len(rows))
		for _, r := range rows {
			// A log axis cannot show zero; a cent is below anything worth reading here.
			pts = append(pts, plotter.XY{X: r.EventsPerMonth, Y: max(s.get(r), 0.01)})
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
	c := vgimg.New(8*vg.Inch, 5*vg.Inch)
	p.Draw(draw.New(c))
	png := vgimg.PngCanvas{Canvas: c}
	if _, err := png.WriteTo(w); err != nil {
		return fmt.Errorf("plot: write png: %w", err)
	}
	return nil
}
