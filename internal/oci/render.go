package oci

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
)

// render writes the configuration.
func (im *importer) render(def string) []byte {
	var b strings.Builder
	for _, h := range im.opt.Header {
		comment(&b, "", h)
	}
	comment(&b, "", "Architectures: "+im.archDoc+".")
	comment(&b, "", "A syscall through another architecture's entry point (a 32-bit int $0x80 on x86_64,")
	comment(&b, "", "x32) is killed, as in every fencer policy.")
	if im.opt.Kernel == nil {
		comment(&b, "", "minKernel conditions are decided for a kernel newer than any they name.")
	} else {
		k := im.opt.Kernel
		comment(&b, "", fmt.Sprintf("minKernel conditions are decided for kernel %d.%d.%d.", k[0], k[1], k[2]))
	}
	b.WriteString("\n")
	caps := slices.Sorted(maps.Keys(im.caps))
	for _, c := range caps {
		fmt.Fprintf(&b, "variable %q {\n  type        = bool\n  default     = %t\n", CapVariable(c), slices.Contains(DockerDefaultCaps, c))
		fmt.Fprintf(&b, "  description = %q\n}\n\n", "The container has "+c+" (Docker's default capabilities have it: "+yesNo(slices.Contains(DockerDefaultCaps, c))+").")
	}
	fmt.Fprintf(&b, "service %q {\n  unit           = %q\n", im.opt.Service, im.opt.Service+".service")
	if len(im.p.Architectures) > 0 {
		names := make([]string, len(im.arches))
		for i, a := range im.arches {
			names[i] = a.Name
		}
		fmt.Fprintf(&b, "  arch           = [%s]\n", quoted(names))
	}
	fmt.Fprintf(&b, "  default_action = %s\n", def)
	for _, blk := range im.blocks {
		b.WriteString("\n")
		for _, c := range blk.comments {
			comment(&b, "  ", c)
		}
		for _, r := range blk.rules {
			writeRule(&b, r)
		}
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func writeRule(b *strings.Builder, r rule) {
	fmt.Fprintf(b, "  rule %q {\n", r.name)
	if len(r.arch) > 0 {
		fmt.Fprintf(b, "    arch     = [%s]\n", quoted(r.arch))
	}
	if len(r.syscalls) <= 6 {
		fmt.Fprintf(b, "    syscalls = [%s]\n", quoted(r.syscalls))
	} else {
		b.WriteString("    syscalls = [\n")
		line := "     "
		for _, n := range r.syscalls {
			w := fmt.Sprintf(" %q,", n)
			if len(line)+len(w) > 100 {
				b.WriteString(line + "\n")
				line = "     "
			}
			line += w
		}
		b.WriteString(line + "\n    ]\n")
	}
	if r.when != "" {
		fmt.Fprintf(b, "    when     = %s\n", r.when)
	}
	if r.action != "allow" {
		fmt.Fprintf(b, "    action   = %s\n", r.action)
	}
	b.WriteString("  }\n")
}

func quoted(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

// comment writes one comment line, made printable.
func comment(b *strings.Builder, indent, text string) {
	text = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, text)
	b.WriteString(strings.TrimRight(indent+"# "+text, " ") + "\n")
}
