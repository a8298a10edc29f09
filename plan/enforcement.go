package plan

import "github.com/fencer-dev/fencer/plan/unittext"

// Enforcement says what enforces a service's policy on the host, in facts
// that the plan's view (package views) says in words: how the syscall
// names are enforced, by whom the argument conditions are, and what
// escapes the BPF filter.
type Enforcement struct {
	// Names says what enforces the policy by syscall name.
	Names NameEnforcement `json:"names"`
	// Allowed is the number of names SystemCallFilter= allows, and
	// Denied, with enforce = "systemd", the number it denies by name.
	Allowed int `json:"allowed"`
	Denied  int `json:"denied,omitempty"`
	// Default is the policy's default action ("kill_process",
	// "errno(1)"), which the syscalls it names nowhere get.
	Default string `json:"default_action"`
	// Loader is, with enforce = "exec", the loader that installs the BPF
	// filter before the service starts, which enforces the argument
	// conditions (ServicePlan.ConditionRules); "" otherwise.
	Loader string `json:"loader,omitempty"`
	// ExecOnce is set when no rule names execve: the loader's exec of the
	// service is the only one the filter lets through.
	ExecOnce bool `json:"exec_once,omitempty"`
	// Narrowed are the rule conditions enforce = "systemd" cannot check,
	// each with the verdict its syscall gets instead.
	Narrowed []Narrowed `json:"narrowed,omitempty"`
	// Unknown are the syscall names the host's systemd does not know,
	// which SystemCallFilter= cannot list (enforce = "exec").
	Unknown []unittext.UnknownName `json:"unknown_names,omitempty"`
	// OtherCommands are the unit's commands besides ExecStart= that
	// SystemCallFilter= applies to and the BPF filter does not.
	OtherCommands []OtherCommand `json:"other_commands,omitempty"`
}

// NameEnforcement says what enforces a policy by syscall name.
type NameEnforcement string

// How syscall names are enforced.
const (
	// NamesSystemdAlone: enforce = "systemd", systemd's SystemCallFilter=
	// and nothing else (no BPF filter, no argument conditions).
	NamesSystemdAlone NameEnforcement = "systemd"
	// NamesBoth: the BPF filter, and systemd's SystemCallFilter= as well.
	NamesBoth NameEnforcement = "filter and systemd"
	// NamesFilterOnly: the BPF filter alone, systemd's name filter cannot
	// express the policy's default action (or a name the host's systemd
	// does not know).
	NamesFilterOnly NameEnforcement = "filter"
)

// Narrowed is a rule condition enforce = "systemd" cannot check
// (resolve.Narrowed).
type Narrowed struct {
	Rule    string `json:"rule"`
	Syscall string `json:"syscall"`
	// Allows is set for a rule whose action is weaker than the verdict
	// the syscall gets: the rule never applies.
	Allows bool `json:"allows,omitempty"`
	// Verdict is what the syscall gets whatever its arguments.
	Verdict string `json:"verdict"`
}

// OtherCommand is a command of the unit besides ExecStart= that runs
// under SystemCallFilter= (it has no "+" prefix) but not under the BPF
// filter, which only the loader installs: it runs with the policy's
// syscall names (and the loader's), whatever the conditions.
type OtherCommand struct {
	// Key is the setting ("ExecStartPre"), Command the command with its
	// prefixes, as the unit writes it.
	Key     string `json:"key"`
	Command string `json:"command"`
	// Path and Line are where the unit sets it.
	Path string `json:"path"`
	Line int    `json:"line"`
}
