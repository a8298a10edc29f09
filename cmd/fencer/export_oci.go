package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/oci"
	"github.com/fencer-dev/fencer/internal/policy"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// ociAllowExec is export oci's -allow-exec flag.
var ociAllowExec bool

var _ = registerExportFormat(&exportFormat{
	name: "oci",
	help: `A seccomp profile in the OCI runtime spec's JSON, as Docker
           (--security-opt seccomp=FILE) and podman load it: for every
           architecture the service is planned for (or -arch), with
           archMap and includes.arches when there are several. A policy a
           profile cannot say is an error at its rule. See docs/oci.md.

  -allow-exec        (oci) Write exec once (execve when no rule names
                     it) as SCMP_ACT_ALLOW: the runtime execs the
                     container's program under the filter.`,
	flags: func(fs *flag.FlagSet, o *exportOptions) {
		fs.BoolVar(&ociAllowExec, "allow-exec", false, "")
	},
	write: writeOCI,
})

// writeOCI compiles the service on each of its architectures and writes
// the profile; a rule the profile cannot say is reported at the rule.
func writeOCI(c *cli, o *exportOptions, dir, service string) ([]byte, bool) {
	if len(o.fds.values) > 0 || o.parametric {
		c.fail(usagef("-fd and -parametric are for export bpf: a profile compares with the fds' numbers in the configuration"))
		return nil, false
	}
	cfg, diags := c.load(dir, &o.config)
	src := newSources(cfg)
	if diags.HasErrors() || cfg == nil {
		c.printDiags(src, diags)
		return nil, false
	}
	svc, err := findService(cfg, service)
	if err != nil {
		c.fail(err)
		return nil, false
	}
	var only []string
	if o.arch.name != "" {
		only = []string{o.arch.name}
	}
	arches := resolve.Arches(cfg, svc, only)
	if len(arches) == 0 {
		c.fail(fmt.Errorf("service.%s is not planned for %s", service, o.arch.name))
		return nil, false
	}
	var filters []*policy.Filter
	for _, a := range arches {
		compiled, more := resolve.Compile(svc, a)
		diags = append(diags, more...)
		if compiled != nil {
			filters = append(filters, compiled.Filter)
		}
	}
	if diags = resolve.MergeArches(diags); diags.HasErrors() {
		c.printDiags(src, diags)
		return nil, false
	}
	data, err := oci.Export(filters, oci.ExportOptions{AllowExec: ociAllowExec})
	var xe *oci.ExportError
	if errors.As(err, &xe) {
		diags = append(diags, exportDiag(svc, xe))
		c.printDiags(src, diags)
		return nil, false
	}
	c.printDiags(src, diags)
	if err != nil {
		c.fail(err)
		return nil, false
	}
	return data, true
}

// exportDiag reports what a profile cannot say at the first rule that
// names the syscall on that architecture (or the default action).
func exportDiag(svc *hclspec.Service, xe *oci.ExportError) *hcl.Diagnostic {
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Not expressible in an OCI profile", Detail: xe.Error() + "."}
	if xe.Syscall == "" {
		d.Subject = svc.DefaultAction.Range.Ptr()
		return d
	}
	d.Subject = svc.DeclRange.Ptr()
	a, _ := arch.Lookup(xe.Arch)
	for _, r := range svc.Rules {
		if !resolve.AppliesTo(r.Arch, a) {
			continue
		}
		for _, ref := range r.Syscalls {
			if canon, ok := a.Canonical(ref.Name); ok && canon == xe.Syscall {
				d.Subject = r.DeclRange.Ptr()
				d.Detail = fmt.Sprintf("Rule %q: %s", r.Name, d.Detail)
				return d
			}
		}
	}
	return d
}
