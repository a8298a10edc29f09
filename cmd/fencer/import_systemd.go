package main

import (
	"context"
	"flag"
	"time"

	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/unitfilter"
	"github.com/hashicorp/hcl/v2"
)

// systemdImport are import systemd's flags.
var systemdImport struct {
	user bool
	root string
}

var _ = registerImporter(&importer{
	kind: "systemd",
	args: "[-user] [-root=DIR] UNIT",
	help: `    A unit's SystemCallFilter=, SystemCallErrorNumber= and
    SystemCallArchitectures=, read as plan reads the unit (its file along
    the unit search path, aliases and drop-ins) and as systemd 252 combines
    them, groups expanded through this machine's systemd-analyze
    syscall-filter: one service with unit = UNIT, a rule per group, no
    argument conditions. -user reads the user manager's units, -root=DIR
    the tree DIR as plan -root does.
`,
	options: `  -user              systemd: read the units of the user manager of whoever runs
                     fencer ($XDG_RUNTIME_DIR, ~/.config/systemd/user, ...).

  -root=DIR          systemd: read the directory tree DIR as if it were /, as
                     plan -root does.
`,
	flags: func(fs *flag.FlagSet) {
		fs.BoolVar(&systemdImport.user, "user", false, "")
		fs.StringVar(&systemdImport.root, "root", "", "")
	},
	read: func(c *cli, o *importOptions, args []string) ([]byte, map[string][]byte, hcl.Diagnostics) {
		if len(args) != 1 {
			return nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "One unit to import",
				Detail: "fencer import systemd takes one unit: fencer import systemd [-user] [-root=DIR] NAME.service."}}
		}
		scope := host.ScopeSystem
		if systemdImport.user {
			scope = host.ScopeUser
		}
		var t host.Target
		var err error
		if systemdImport.root != "" {
			t, err = host.Root("local", systemdImport.root, "", scope)
		} else {
			t, err = host.LocalEnv("local", scope, c.environ)
		}
		if err != nil {
			return nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot open this machine", Detail: err.Error() + "."}}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		text, _, inputs, diags := unitfilter.Import(ctx, t, args[0])
		return text, inputs, diags
	},
})
