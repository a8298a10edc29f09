package oci

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/spelling"
)

// ImportOptions say how Import writes a profile as a configuration.
type ImportOptions struct {
	// Service is the service's name; its unit is NAME.service.
	Service string
	// Kernel is the kernel the profile's minKernel conditions are decided
	// for; nil decides every one as met (a kernel newer than any).
	Kernel *KernelVersion
	// Header is the file's first comment lines.
	Header []string
}

// Imported is a profile as a fencer configuration.
type Imported struct {
	Text []byte
	// Origins gives, for each rule written, the range of the profile's
	// syscalls entry it comes from, so that a problem found when the
	// configuration is compiled can be reported on the profile.
	Origins map[string]hcl.Range
}

// Import writes p as a configuration: one service whose default action
// is p's, a rule for each entry of syscalls on the architectures the
// entry applies to, and a bool variable per capability the profile's
// includes and excludes name, defaulting to Docker's default set.
func Import(p *Profile, opt ImportOptions) (*Imported, hcl.Diagnostics) {
	im := &importer{p: p, opt: opt, used: map[string]bool{}, caps: map[string]bool{},
		origins: map[string]hcl.Range{}}
	im.arches = im.serviceArches()
	def, defKey, ok := im.action(p.DefaultAction, p.DefaultErrnoRet, true)
	if ok && def == "allow" {
		im.errorf(p.DefaultAction.Rng, "Allow by default",
			"fencer policies deny what their rules do not allow: SCMP_ACT_ALLOW as defaultAction cannot be imported. Rewrite the profile as an allow-list with a denying defaultAction (SCMP_ACT_ERRNO).")
	}
	im.defKey = defKey
	for _, s := range p.Syscalls {
		im.entry(s)
	}
	im.overlaps()
	if im.diags.HasErrors() {
		return nil, im.diags
	}
	return &Imported{Text: im.render(def), Origins: im.origins}, im.diags
}

type importer struct {
	p       *Profile
	opt     ImportOptions
	diags   hcl.Diagnostics
	arches  []*arch.Arch
	archDoc string
	defKey  string
	caps    map[string]bool
	used    map[string]bool
	blocks  []block
	origins map[string]hcl.Range
	// kept are the entries that became rules, for overlaps.
	kept []keptEntry
}

// keptEntry is what overlaps looks at in an entry that became rules.
type keptEntry struct {
	s      *Syscall
	action string
	caps   []string // var.cap_x and !var.cap_x
	arches []*arch.Arch
	names  []string
}

// block is what one entry of syscalls becomes: comments and rules.
type block struct {
	comments []string
	rules    []rule
}

type rule struct {
	name     string
	arch     []string
	syscalls []string
	when     string
	action   string
}

func (im *importer) errorf(rng hcl.Range, summary, format string, args ...any) {
	im.diags = append(im.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary,
		Detail: fmt.Sprintf(format, args...), Subject: rng.Ptr()})
}

func (im *importer) warnf(rng hcl.Range, summary, format string, args ...any) {
	im.diags = append(im.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary,
		Detail: fmt.Sprintf(format, args...), Subject: rng.Ptr()})
}

// serviceArches are the architectures the profile is for: those of
// architectures that fencer supports, or all of fencer's with archMap
// (which gives each architecture a daemon may run on the ABIs its filter
// covers) or with neither (the filter is for the machine it runs on).
func (im *importer) serviceArches() []*arch.Arch {
	for _, e := range im.p.ArchMap {
		im.scmpArch(e.Arch)
		for _, s := range e.SubArch {
			im.scmpArch(s)
		}
	}
	if len(im.p.Architectures) == 0 {
		im.archDoc = "every architecture fencer supports (as a daemon on each would load it)"
		return arch.All()
	}
	var out []*arch.Arch
	var skipped []string
	for _, s := range im.p.Architectures {
		if name, ok := im.scmpArch(s); ok && name != "" {
			a, _ := arch.Lookup(name)
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		} else if ok {
			skipped = append(skipped, s.V)
		}
	}
	if len(out) == 0 && !im.diags.HasErrors() {
		im.errorf(im.p.Architectures[0].Rng, "No architecture fencer supports",
			"The profile's architectures are %s; fencer supports %s.", strings.Join(skipped, ", "), strings.Join(scmpNames(), ", "))
	}
	names := make([]string, len(out))
	for i, a := range out {
		names[i] = a.Name
	}
	im.archDoc = strings.Join(names, ", ")
	if len(skipped) > 0 {
		im.archDoc += " (fencer does not support " + strings.Join(skipped, ", ") + ")"
	}
	return out
}

// scmpNames are the SCMP_ARCH_* tokens of fencer's architectures.
func scmpNames() []string {
	var out []string
	for _, a := range arch.All() {
		out = append(out, ScmpArch(a))
	}
	return out
}

// scmpArch reads an SCMP_ARCH_* token: fencer's name, "" for one fencer
// does not support; false for a token libseccomp does not know.
func (im *importer) scmpArch(s Str) (string, bool) {
	name, ok := scmpArches[s.V]
	if !ok {
		known := slices.Sorted(maps.Keys(scmpArches))
		im.errorf(s.Rng, "Unknown architecture", "%q is not an architecture libseccomp knows (SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64, ...).%s",
			s.V, spelling.DidYouMean(s.V, known))
	}
	return name, ok
}

// action reads an action and its errno: the fencer spelling, a key equal
// for actions runc takes as equal (it drops a rule whose action is the
// default's), and false on an error, reported.
func (im *importer) action(s Str, errnoRet *Num, isDefault bool) (string, string, bool) {
	k, ok := scmpActions[s.V]
	if !ok {
		known := slices.Sorted(maps.Keys(scmpActions))
		im.errorf(s.Rng, "Unknown action", "%q is not an action: the actions are %s.%s", s.V, strings.Join(known, ", "), spelling.DidYouMean(s.V, known))
		return "", "", false
	}
	if k.fencer == "" {
		im.errorf(s.Rng, "Action fencer cannot express", "%s", k.why)
		return "", "", false
	}
	if k.fencer != "errno" {
		if errnoRet != nil && !isDefault {
			im.warnf(errnoRet.Rng, "errnoRet ignored", "errnoRet only counts with SCMP_ACT_ERRNO (and SCMP_ACT_TRACE); runc ignores it with %s.", s.V)
		}
		return k.fencer, k.fencer, true
	}
	// runc passes errnoRet as an int16 (EPERM without one), libseccomp
	// keeps its low 16 bits and the kernel caps it at MAX_ERRNO.
	code := uint64(1)
	if errnoRet != nil {
		code = errnoRet.V & math.MaxUint16
	}
	key := fmt.Sprintf("errno:%d", code)
	if code > 4095 {
		code = 4095
	}
	if n, ok := errnoNames[code]; ok {
		return fmt.Sprintf("errno(%s)", n), key, true
	}
	return fmt.Sprintf("errno(%d)", code), key, true
}

// overlaps warns about two entries that give one syscall different
// actions on one architecture when their capabilities do not rule out
// that both hold: fencer takes the more restrictive action where both
// conditions hold, libseccomp what its filter's layout gives (an entry
// without args decides the syscall whatever the others say).
func (im *importer) overlaps() {
	for j, b := range im.kept {
		for _, a := range im.kept[:j] {
			if a.action == b.action || !sharesArch(a.arches, b.arches) || capsExclude(a.caps, b.caps) {
				continue
			}
			for _, n := range b.names {
				if slices.Contains(a.names, n) {
					im.warnf(b.s.Rng, "Entries that overlap",
						"syscalls[%d] (line %d) and this entry give %s different actions. Where both hold, fencer takes the more restrictive action (docs/language.md, How rules combine); libseccomp takes what the layout of its filter gives (an entry without args decides the syscall alone), so Docker may decide otherwise there. Make their conditions exclusive.",
						a.s.Index, a.s.Rng.Start.Line, n)
					break
				}
			}
		}
	}
}

func sharesArch(a, b []*arch.Arch) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// capsExclude reports whether two capability conditions cannot both hold.
func capsExclude(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, "!"+x) || strings.HasPrefix(x, "!") && slices.Contains(b, x[1:]) {
			return true
		}
	}
	return false
}
