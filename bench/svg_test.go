package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

// TestPlotSVG: the plot is well-formed SVG with one line and one legend
// entry per compiler and panel, its points inside the panel.
func TestPlotSVG(t *testing.T) {
	panels := []panel{
		{title: "a <policy>", series: []series{{"fencer", []float64{1, 5, 300}}, {"libseccomp -O2", []float64{4, 4, 4}}}},
		{title: "b", series: []series{{"go-seccomp-bpf", []float64{2, 3}}}},
	}
	var b bytes.Buffer
	plotSVG(&b, panels)
	dec := xml.NewDecoder(&b)
	lines, texts := 0, []string{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "polyline":
				lines++
				for _, a := range se.Attr {
					if a.Name.Local == "points" && len(strings.Fields(a.Value)) != 3 && len(strings.Fields(a.Value)) != 2 {
						t.Errorf("points %q", a.Value)
					}
				}
			case "text":
				if cd, ok := mustToken(dec).(xml.CharData); ok {
					texts = append(texts, string(cd))
				}
			}
		}
	}
	if lines != 3 {
		t.Errorf("%d lines, want 3", lines)
	}
	all := strings.Join(texts, "|")
	for _, want := range []string{"a <policy>", "fencer", "libseccomp -O2", "go-seccomp-bpf", "syscall number", "500"} {
		if !strings.Contains(all, want) {
			t.Errorf("no text %q in %s", want, all)
		}
	}
}

func mustToken(dec *xml.Decoder) xml.Token {
	tok, _ := dec.Token()
	return xml.CopyToken(tok)
}
