package main

import (
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/oci"
	"github.com/fencer-dev/fencer/internal/readlimit"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// ociKernel is import oci's -kernel flag.
var ociKernel string

var _ = registerImporter(&importer{
	kind: "oci",
	args: "[-kernel=VERSION] FILE.json",
	help: `    An OCI runtime's seccomp profile (the runtime spec's linux.seccomp
    object, as Docker and podman read it: archMap, includes and excludes).
    Each capability includes and excludes name becomes a bool variable
    (cap_sys_admin), true by default for Docker's default capabilities;
    minKernel is decided for the kernel -kernel names (default: newer than
    any). The service is named after FILE. See docs/oci.md.

  -kernel=VERSION    (oci) The kernel minKernel is decided for: 4.8,
                     5.10.1 (default: newer than any the profile names).
`,
	flags: func(fs *flag.FlagSet) {
		fs.StringVar(&ociKernel, "kernel", "", "")
	},
	read: readOCI,
})

// readOCI reads a profile and writes it as a configuration, compiled on
// every architecture before it is returned: a rule that cannot compile
// is reported at the profile's entry it comes from.
func readOCI(c *cli, o *importOptions, args []string) ([]byte, map[string][]byte, hcl.Diagnostics) {
	if len(args) != 1 {
		return nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Usage",
			Detail: "fencer import oci [-kernel=VERSION] FILE.json: one profile."}}
	}
	path := args[0]
	src, err := readlimit.File(path, oci.MaxProfile, "seccomp profile")
	if err != nil {
		return nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the profile", Detail: err.Error()}}
	}
	inputs := map[string][]byte{path: src}
	opt := oci.ImportOptions{Service: serviceName(path),
		Header: []string{"Imported by `fencer import oci` from " + filepath.Base(path) + "."}}
	if ociKernel != "" {
		k, err := oci.ParseKernel(ociKernel)
		if err != nil {
			return nil, inputs, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid -kernel", Detail: err.Error()}}
		}
		opt.Kernel = &k
	}
	p, diags := oci.Parse(path, src)
	if diags.HasErrors() {
		return nil, inputs, diags
	}
	im, more := oci.Import(p, opt)
	diags = append(diags, more...)
	if diags.HasErrors() {
		return nil, inputs, diags
	}
	diags = append(diags, checkImported(im)...)
	return im.Text, inputs, diags
}

// checkImported compiles the configuration on every architecture and
// reports each error at the profile's entry of the rule at fault.
func checkImported(im *oci.Imported) hcl.Diagnostics {
	const name = "imported.fencer.hcl"
	cfg, diags := hclspec.Parse(map[string][]byte{name: im.Text}, hclspec.LoadOptions{})
	if !diags.HasErrors() {
		_, diags = resolve.CompileAll(cfg, nil)
	}
	var out hcl.Diagnostics
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		rule := ""
		if d.Subject != nil && cfg != nil && len(cfg.Services) == 1 {
			for _, r := range cfg.Services[0].Rules {
				if r.DeclRange.Start.Line <= d.Subject.Start.Line {
					rule = r.Name
				}
			}
		}
		diag := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Profile fencer cannot compile",
			Detail: fmt.Sprintf("The imported configuration: %s: %s", d.Summary, d.Detail)}
		if at, ok := im.Origins[rule]; ok {
			diag.Summary = "Entry fencer cannot compile"
			diag.Detail = fmt.Sprintf("As the rule %q of the imported configuration: %s: %s", rule, d.Summary, d.Detail)
			diag.Subject = at.Ptr()
		}
		out = append(out, diag)
	}
	return out
}

// serviceName is a service name made of a file's name: its base without
// extension, with what a name cannot have replaced by "_".
func serviceName(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	b := []byte(base)
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || !(b[0] >= 'a' && b[0] <= 'z' || b[0] >= 'A' && b[0] <= 'Z' || b[0] == '_') {
		b = append([]byte("profile_"), b...)
	}
	return string(b)
}
