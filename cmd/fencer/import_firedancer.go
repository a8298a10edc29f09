package main

import (
	"errors"
	"io/fs"
	"os"

	"github.com/fencer-dev/fencer/internal/firedancer"
	"github.com/fencer-dev/fencer/internal/readlimit"
	"github.com/hashicorp/hcl/v2"
)

var _ = registerImporter(&importer{
	kind: "firedancer",
	args: "FILE.seccomppolicy...",
	help: `    Firedancer's seccomp policies (its .seccomppolicy files): one service
    per policy, named after the file, allowing what Firedancer's generated
    filter allows and killing the rest. NAME_arm64.seccomppolicy is NAME's
    aarch64 variant: given both, one service NAME for x86_64 and aarch64
    (a rule per architecture where they differ); a policy without one is
    for both, unless its _arm64 file lies next to it (then x86_64 only,
    with a warning). A parameter the policy compares only with fd
    arguments becomes an fd block numbered by a variable of its name;
    any other (a pid, the bounds of a range) a variable. Give their values
    to validate, plan and apply with -var, or bind the fd blocks to what
    systemd opens.
`,
	read: func(c *cli, o *importOptions, args []string) ([]byte, map[string][]byte, hcl.Diagnostics) {
		text, _, inputs, diags := importFiredancer(args)
		return text, inputs, diags
	},
})

// importFiredancer reads the policy files and imports them
// (firedancer.Import); inputs holds each file's bytes by its path.
func importFiredancer(paths []string) (text []byte, services []firedancer.Service, inputs map[string][]byte, diags hcl.Diagnostics) {
	inputs = map[string][]byte{}
	if len(paths) == 0 {
		return nil, nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No policy to import",
			Detail: "fencer import firedancer takes one or more FILE.seccomppolicy."}}
	}
	var ins []firedancer.Input
	for _, p := range paths {
		src, err := readlimit.File(p, firedancer.MaxSize, "Firedancer policy")
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read the policy", Detail: err.Error() + "."})
			continue
		}
		inputs[p] = src
		ins = append(ins, firedancer.Input{Path: p, Src: src})
	}
	if diags.HasErrors() {
		return nil, nil, inputs, diags
	}
	text, services, d := firedancer.Import(ins, func(path string) bool {
		_, err := os.Lstat(path)
		return !errors.Is(err, fs.ErrNotExist)
	})
	return text, services, inputs, append(diags, d...)
}
