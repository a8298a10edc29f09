package views

import (
	"fmt"
	"io"

	"github.com/fencer-dev/fencer/verify"
)

// Verify writes verify's reports for people: each host's verdict, its
// findings, grouped by unit, then the notes on what was checked.
func Verify(w io.Writer, reports []*verify.HostReport, color bool) {
	red, green, reset := "", "", ""
	if color {
		red, green, reset = "\x1b[31m", "\x1b[32m", "\x1b[0m"
	}
	drifted := 0
	for _, r := range reports {
		switch {
		case r.Error != "":
			fmt.Fprintf(w, "%shost %q: cannot verify: %s%s\n", red, r.Host, r.Error, reset)
		case r.InSync():
			fmt.Fprintf(w, "%shost %q: in sync%s\n", green, r.Host, reset)
		default:
			drifted++
			fmt.Fprintf(w, "%shost %q: %d difference(s)%s\n", red, r.Host, len(r.Findings), reset)
		}
		for _, f := range r.Findings {
			unit := f.Unit
			if unit == "" {
				unit = "-"
			}
			fmt.Fprintf(w, "  %s  %s %s: %s\n", unit, f.Kind, f.Subject, f.Problem)
			if f.Want != "" || f.Got != "" {
				fmt.Fprintf(w, "      planned: %s\n      found:   %s\n", orNone(f.Want), orNone(f.Got))
			}
		}
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  %s  note: %s\n", n.Unit, n.Text)
		}
	}
	if drifted > 0 {
		fmt.Fprintf(w, "\n%d of %d hosts drifted from the configuration.\n", drifted, len(reports))
	}
}

func orNone(s string) string {
	if s == "" {
		return "(nothing)"
	}
	return s
}
