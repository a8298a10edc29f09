package hclspec

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/internal/unitfile"
)

// This file holds the checks of what fencer writes into unit files, and
// of what only planning needs: plan reports the latter as errors, and
// validate as warnings, since test, show and export do without.

// IDDiagnostics returns, when the configuration has no id (ID is ""), a
// diagnostic of severity sev that says why: plan writes the id into every
// file it installs, to tell the configuration's files from another's, and
// cannot plan without one.
func (c *Config) IDDiagnostics(sev hcl.DiagnosticSeverity) hcl.Diagnostics {
	if c.ID != "" {
		return nil
	}
	detail := c.IDProblem
	if detail == "" {
		detail = `the configuration has no id: set one with fencer { id = "..." }`
	}
	return hcl.Diagnostics{{Severity: sev, Summary: "No configuration id",
		Detail:  strings.ToUpper(detail[:1]) + detail[1:] + ". It is written into every file fencer installs, to tell the configuration's files from another's.",
		Subject: &hcl.Range{Filename: c.Dir}}}
}

// unitValueProblem says why v cannot be the value of a setting of a unit
// file fencer writes, "" when it can: a control character would change
// the file (a newline starts a setting of its own, and
// ExecStartPost=+... runs unsandboxed), and a trailing backslash
// continues the line into the next setting.
func unitValueProblem(v string) string {
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fmt.Sprintf("The value contains the control character %q, which would change the unit file fencer writes it into.", r)
		}
	}
	if strings.HasSuffix(v, "\\") {
		return "The value ends with a backslash, which would continue its line in the unit file into the next setting."
	}
	return ""
}

// execStartProblem says why exec_start cannot be the command fencer runs
// the service with, "" when it can: a value unitValueProblem refuses, and
// with enforce = "exec" (exec), where the loader wraps it, anything but
// one command unitfile.Wrap can wrap.
func execStartProblem(v string, exec bool) string {
	if p := unitValueProblem(v); p != "" || !exec {
		return p
	}
	cmds, err := unitfile.Split(v)
	switch {
	case err != nil:
		return fmt.Sprintf("exec_start is not a command line systemd reads: %v.", err)
	case len(cmds) != 1:
		return fmt.Sprintf("exec_start must be one command; it has %d.", len(cmds))
	case cmds[0].Unsandboxed() != "":
		return fmt.Sprintf("exec_start starts with %q, which runs the command without sandboxing, so fencer's seccomp filter would not apply consistently: remove the prefix.", cmds[0].Unsandboxed())
	}
	if err := cmds[0].Wrappable(); err != nil {
		return fmt.Sprintf("fencer's loader cannot run exec_start: %v.", err)
	}
	return ""
}

// fencerPathProblem says why p cannot be the loader's path on a host, ""
// when it can: drop-ins run it as the executable of ExecStart=.
func fencerPathProblem(p string) string {
	if !strings.HasPrefix(p, "/") {
		return fmt.Sprintf("fencer_path must be an absolute path, such as %q; %q is not.", DefaultFencerPath, p)
	}
	if prob := unitValueProblem(p); prob != "" {
		return prob
	}
	if err := unitfile.CheckLoader(p); err != nil {
		return fmt.Sprintf("The drop-ins fencer writes run fencer_path as the executable of ExecStart=, and %s.", strings.TrimPrefix(err.Error(), "loader: "))
	}
	return ""
}
