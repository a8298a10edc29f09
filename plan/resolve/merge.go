package resolve

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
)

// archOf tags a diagnostic with the architecture it was found on.
type archOf struct{ name string }

// archWord matches an architecture's name, quoted or not (compiled on
// first use, not at every start of fencer).
var archWord = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`"?\b(` + strings.Join(quoteMetas(arch.Names()), "|") + `)\b"?`)
})

func quoteMetas(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = regexp.QuoteMeta(n)
	}
	return out
}

// MergeArches reports a mistake found on several architectures once: the
// diagnostics that differ only in the architecture they name become one
// that names them all. Other diagnostics pass through, repeats dropped.
func MergeArches(diags hcl.Diagnostics) hcl.Diagnostics {
	type group struct {
		first  *hcl.Diagnostic
		arches []string
	}
	var order []string
	groups := map[string]*group{}
	var out hcl.Diagnostics
	for _, d := range hclspec.Dedupe(diags) {
		tag, ok := d.Extra.(archOf)
		if !ok {
			out = append(out, d)
			continue
		}
		key := fmt.Sprintf("%d|%s|%s", d.Severity, archWord().ReplaceAllString(d.Summary, "{arch}"), archWord().ReplaceAllString(d.Detail, "{arch}"))
		if d.Subject != nil {
			key += "|" + d.Subject.String()
		}
		g, seen := groups[key]
		if !seen {
			g = &group{first: d}
			groups[key] = g
			order = append(order, key)
		}
		g.arches = append(g.arches, tag.name)
	}
	for _, key := range order {
		g := groups[key]
		if len(g.arches) == 1 {
			out = append(out, g.first)
			continue
		}
		d := *g.first
		d.Summary = nameArches(d.Summary, g.arches)
		d.Detail = nameArches(d.Detail, g.arches)
		out = append(out, &d)
	}
	return out
}

// nameArches replaces the architecture a message names with the list of
// all of them: `"x86_64"` with `"x86_64", "aarch64"` (as in an HCL list),
// x86_64 with "x86_64 and aarch64".
func nameArches(s string, arches []string) string {
	quoted := make([]string, len(arches))
	for i, a := range arches {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	prose := strings.Join(arches[:len(arches)-1], ", ") + " and " + arches[len(arches)-1]
	return archWord().ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, `"`) && strings.HasSuffix(m, `"`) {
			return strings.Join(quoted, ", ")
		}
		return prose
	})
}
