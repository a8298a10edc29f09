package firedancer

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/hashicorp/hcl/v2"
)

// Input is one policy file to import: its path as the user gave it and
// its content.
type Input struct {
	Path string
	Src  []byte
}

// Service is one service Import writes: the policies it comes from, each
// with the architectures it is for, and how its parameters are written.
type Service struct {
	Name     string
	Variants []Variant
	Options  WriteOptions
}

// Import reads the policies and writes them as one fencer configuration
// with a service per policy, NAME and NAME_arm64 making one service NAME
// (Firedancer builds NAME_arm64 on aarch64 and NAME elsewhere). A policy
// without an _arm64 variant is for both architectures Firedancer builds
// for (Arches) — for x86_64 only when an _arm64 file lies next to it
// (exists says whether a path exists; a warning says to give it too), and
// for only those architectures where each of its syscalls exists. The
// service's arch list says which. Parameters become fd blocks and
// variables by what the policy does with them (ParamRoles). Diagnostics
// name the input's file, line and column; the text is nil on error.
func Import(inputs []Input, exists func(path string) bool) ([]byte, []Service, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	var order []string
	groups := map[string][]*Policy{}
	byName := map[string]string{}
	for _, in := range inputs {
		p, d := Parse(in.Path, in.Src)
		diags = append(diags, d...)
		if p == nil {
			continue
		}
		if prev, dup := byName[hclspec.Name(p.Name)]; dup {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Two policies of one name",
				Detail:  fmt.Sprintf("%s and %s are both policy %s, which would be two services of one name: import them separately.", prev, in.Path, p.Name),
				Subject: p.SigRange.Ptr()})
			continue
		}
		byName[hclspec.Name(p.Name)] = in.Path
		base := hclspec.Name(strings.TrimSuffix(p.Name, Arm64Suffix))
		if groups[base] == nil {
			order = append(order, base)
		}
		groups[base] = append(groups[base], p)
	}
	if diags.HasErrors() {
		return nil, nil, diags
	}
	var services []Service
	for _, name := range order {
		svc, d := importService(name, groups[name], exists)
		diags = append(diags, d...)
		if svc != nil {
			services = append(services, *svc)
		}
	}
	if diags.HasErrors() {
		return nil, nil, diags
	}
	text, err := writeImport(inputs, services)
	if err != nil {
		return nil, nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot write the policy as a configuration", Detail: err.Error() + "."})
	}
	return text, services, diags
}

// importService makes service name of its policies.
func importService(name string, ps []*Policy, exists func(string) bool) (*Service, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	hasArm := false
	for _, p := range ps {
		hasArm = hasArm || strings.HasSuffix(p.Name, Arm64Suffix)
	}
	svc := &Service{Name: name}
	var all []*arch.Arch
	for _, p := range ps {
		var want []string
		switch {
		case strings.HasSuffix(p.Name, Arm64Suffix):
			want = []string{"aarch64"}
		case hasArm:
			want = []string{"x86_64"}
		default:
			want = Arches
			sib := strings.TrimSuffix(p.Filename, ".seccomppolicy") + Arm64Suffix + ".seccomppolicy"
			if filepath.Ext(p.Filename) == ".seccomppolicy" && exists(sib) {
				want = []string{"x86_64"}
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "An aarch64 variant was left out",
					Detail: fmt.Sprintf("%s, next to this policy, is its aarch64 variant, which Firedancer builds there instead: this one is for x86_64 only. Give both files to import service %s for both.",
						sib, name),
					Subject: p.SigRange.Ptr()})
			}
		}
		v := Variant{Policy: p}
		for _, an := range want {
			a, _ := arch.Lookup(an)
			if sc := missingSyscall(p, a); sc != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "A syscall this architecture lacks",
					Detail:  fmt.Sprintf("%s does not exist on %s, where Firedancer's filter for %s would not compile: the service is not for %s.", sc.Name, an, p.Name, an),
					Subject: sc.Range.Ptr()})
				continue
			}
			v.Arches = append(v.Arches, a)
		}
		if len(v.Arches) == 0 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No architecture left",
				Detail:  fmt.Sprintf("Policy %s names syscalls that exist on none of %s.", p.Name, strings.Join(want, ", ")),
				Subject: p.SigRange.Ptr()})
			return nil, diags
		}
		all = append(all, v.Arches...)
		svc.Variants = append(svc.Variants, v)
	}
	svc.Options = WriteOptions{Arches: all, Roles: ParamRoles(ps...), ServiceArch: true}
	return svc, diags
}

// missingSyscall returns the first syscall of p that a lacks, or nil.
func missingSyscall(p *Policy, a *arch.Arch) *Syscall {
	for i, sc := range p.Syscalls {
		if _, ok := a.Syscall(sc.Name); !ok {
			return &p.Syscalls[i]
		}
	}
	return nil
}

// writeImport writes the services as one configuration, each service's
// variables named after it when there are several.
func writeImport(inputs []Input, services []Service) ([]byte, error) {
	var b strings.Builder
	paths := make([]string, len(inputs))
	for i, in := range inputs {
		paths[i] = in.Path
	}
	fmt.Fprintf(&b, "# Firedancer's seccomp policies %s, imported by fencer import firedancer.\n", strings.Join(paths, ", "))
	if hasVariables(services) {
		b.WriteString("# Each parameter of a policy is a variable without a default: give its value with\n" +
			"# -var NAME=VALUE (or a -var-file); one that is an fd is also an fd block numbered by it,\n" +
			"# which you may bind to what systemd opens instead (stdout = \"append:PATH\", ...).\n")
	}
	for i := range services {
		svc := &services[i]
		if len(services) > 1 {
			svc.Options.VarPrefix = svc.Name + "_"
		}
		text, err := WriteService(svc.Name, svc.Variants, svc.Options)
		if err != nil {
			return nil, err
		}
		b.WriteString("\n")
		b.Write(text)
	}
	return []byte(b.String()), nil
}

// hasVariables reports whether a parameter of the services is used.
func hasVariables(services []Service) bool {
	for _, svc := range services {
		for _, r := range svc.Options.Roles {
			if r != RoleUnused {
				return true
			}
		}
	}
	return false
}
