package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
)

// series is one compiler's line in a panel of the plot.
type series struct {
	name   string
	values []float64 // instructions executed, by syscall number
}

// panel is one policy's part of the plot.
type panel struct {
	title  string
	series []series
}

// Plot geometry, in SVG user units.
const (
	plotWidth   = 900
	panelHeight = 300
	marginLeft  = 60
	marginRight = 170
	marginTop   = 40
	marginBelow = 50
)

// colors are the lines' colors, in compilers' order.
var colors = []string{"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"}

// writePlot writes the plot of instructions executed per syscall number
// for every compiler on @system-service and on the metrics policy of one
// architecture.
func writePlot(path string, ar *archRun) error {
	var panels []panel
	for _, i := range []int{systemServiceRow, metricsRow} {
		p := panel{title: fmt.Sprintf("%s on %s: instructions executed per syscall number", ar.named.policies[i].name, ar.arch.Name)}
		for j, c := range ar.named.comps {
			if r := ar.named.res[i][j]; r.err == nil {
				p.series = append(p.series, series{name: c.name(), values: r.fig.PerNr})
			}
		}
		panels = append(panels, p)
	}
	var b bytes.Buffer
	plotSVG(&b, panels)
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// plotSVG draws the panels one above the other.
func plotSVG(w io.Writer, panels []panel) {
	height := len(panels) * (panelHeight + marginTop + marginBelow)
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		plotWidth, height, plotWidth, height)
	fmt.Fprintf(w, `<rect width="%d" height="%d" fill="white"/>`+"\n", plotWidth, height)
	for i, p := range panels {
		drawPanel(w, p, i*(panelHeight+marginTop+marginBelow))
	}
	fmt.Fprintln(w, "</svg>")
}

// drawPanel draws one panel with its top at y0.
func drawPanel(w io.Writer, p panel, y0 int) {
	n, top := 1, 1.0
	for _, s := range p.series {
		n = max(n, len(s.values))
		for _, v := range s.values {
			top = math.Max(top, v)
		}
	}
	top = niceCeil(top)
	left, right := float64(marginLeft), float64(plotWidth-marginRight)
	bottom := float64(y0 + marginTop + panelHeight)
	x := func(nr float64) float64 { return left + (right-left)*nr/float64(n) }
	y := func(v float64) float64 { return bottom - float64(panelHeight)*v/top }
	fmt.Fprintf(w, `<text x="%d" y="%d" font-size="14">%s</text>`+"\n", marginLeft, y0+marginTop-15, escape(p.title))
	axes(w, x, y, n, top, left, right, bottom)
	for i, s := range p.series {
		color := colors[i%len(colors)]
		// Wide lines first, narrow ones over them: lines that coincide
		// stay visible.
		width := 4.5 - 3.5*float64(i)/float64(max(len(p.series)-1, 1))
		fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="%.1f" stroke-linejoin="round" points="`, color, width)
		for nr, v := range s.values {
			fmt.Fprintf(w, "%.1f,%.1f ", x(float64(nr)+0.5), y(v))
		}
		fmt.Fprintln(w, `"/>`)
		ly := y0 + marginTop + 10 + 18*i
		fmt.Fprintf(w, `<line x1="%.0f" y1="%d" x2="%.0f" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", right+15, ly, right+35, ly, color)
		fmt.Fprintf(w, `<text x="%.0f" y="%d">%s</text>`+"\n", right+40, ly+4, escape(s.name))
	}
}

// axes draws a panel's axes with ticks and labels.
func axes(w io.Writer, x, y func(float64) float64, n int, top, left, right, bottom float64) {
	fmt.Fprintf(w, `<path d="M%.0f %.0f V%.0f H%.0f" fill="none" stroke="black"/>`+"\n", left, y(top), bottom, right)
	for i := 0; i <= 5; i++ {
		v := top * float64(i) / 5
		fmt.Fprintf(w, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#ddd"/>`+"\n", left, y(v), right, y(v))
		fmt.Fprintf(w, `<text x="%.0f" y="%.1f" text-anchor="end">%g</text>`+"\n", left-5, y(v)+4, v)
	}
	step := niceCeil(float64(n) / 8)
	for nr := 0.0; nr <= float64(n); nr += step {
		fmt.Fprintf(w, `<text x="%.1f" y="%.0f" text-anchor="middle">%g</text>`+"\n", x(nr), bottom+16, nr)
	}
	fmt.Fprintf(w, `<text x="%.0f" y="%.0f" text-anchor="middle">syscall number</text>`+"\n", (left+right)/2, bottom+34)
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// escape makes s safe as SVG text.
func escape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
