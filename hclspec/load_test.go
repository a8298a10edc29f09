package hclspec

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/fencer-dev/fencer/internal/policy"
)

// parseSrc parses one main.fencer.hcl file.
func parseSrc(t *testing.T, src string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	t.Helper()
	return Parse(map[string][]byte{"main.fencer.hcl": []byte(src)}, opts)
}

// mustParse parses src and fails on any diagnostic.
func mustParse(t *testing.T, files map[string][]byte, opts LoadOptions) *Config {
	t.Helper()
	cfg, diags := Parse(files, opts)
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", diagsText(diags))
	}
	return cfg
}

func diagsText(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "  %s: %s; %s\n", at(d), d.Summary, d.Detail)
	}
	return b.String()
}

// at is FILE:LINE:COL of a diagnostic's subject.
func at(d *hcl.Diagnostic) string {
	if d.Subject == nil {
		return "<no subject>"
	}
	return fmt.Sprintf("%s:%d:%d", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
}

func TestSpecExample(t *testing.T) {
	cfg, diags := Load("testdata/spec", LoadOptions{})
	if len(diags) > 0 {
		t.Fatalf("diagnostics:\n%s", diagsText(diags))
	}

	if len(cfg.Variables) != 1 || cfg.Variables[0].Name != "log_path" || cfg.Variables[0].Value != "/var/log/metrics.log" {
		t.Errorf("variables = %+v", cfg.Variables)
	}

	var hosts []string
	for _, h := range cfg.Hosts {
		hosts = append(hosts, fmt.Sprintf("%s group=%s addr=%s user=%s arch=%s scope=%s port=%d path=%s implicit=%v",
			h.Name, h.Group, h.Address, h.User, h.Arch, h.Scope, h.Port, h.FencerPath, h.Implicit))
	}
	wantHosts := []string{
		`edge["edge-1"] group=edge addr=edge-1 user=root arch=aarch64 scope=system port=22 path=/usr/local/bin/fencer implicit=false`,
		`edge["edge-2"] group=edge addr=edge-2 user=root arch=aarch64 scope=system port=22 path=/usr/local/bin/fencer implicit=false`,
	}
	if !reflect.DeepEqual(hosts, wantHosts) {
		t.Errorf("hosts:\n%s\nwant:\n%s", strings.Join(hosts, "\n"), strings.Join(wantHosts, "\n"))
	}

	if len(cfg.Services) != 1 {
		t.Fatalf("services = %d, want 1", len(cfg.Services))
	}
	s := cfg.Services[0]
	if s.Name != "metrics" || s.Unit != "metrics.service" || s.Enforce != EnforceExec || s.ExecStart != nil {
		t.Errorf("service = %+v", s)
	}
	if s.UnitFile == nil || !strings.Contains(*s.UnitFile, "ExecStart=/usr/local/bin/metrics-server") {
		t.Errorf("unit_file = %v, want the content of metrics.service", s.UnitFile)
	}
	if !reflect.DeepEqual(s.Hosts, []string{"edge"}) {
		t.Errorf("service hosts = %q", s.Hosts)
	}
	if got := cfg.ServiceHosts(s); len(got) != 2 {
		t.Errorf("ServiceHosts = %d hosts, want 2", len(got))
	}
	if s.DefaultAction.Kind != policy.KillProcess || s.DefaultAction.Errno != nil {
		t.Errorf("default_action = %v", s.DefaultAction)
	}

	type fdWant struct {
		name   string
		kind   FdKind
		value  string
		number int
	}
	var fds []fdWant
	for _, fd := range s.Fds {
		fds = append(fds, fdWant{fd.Name, fd.Kind, fd.Value, fd.Number})
	}
	wantFds := []fdWant{
		{"logfile", FdStdout, "append:/var/log/metrics.log", 1},
		{"metrics_socket", FdListenStream, "0.0.0.0:7999", 3},
	}
	if !reflect.DeepEqual(fds, wantFds) {
		t.Errorf("fds = %+v, want %+v", fds, wantFds)
	}

	var rules []string
	for _, r := range s.Rules {
		var names []string
		for _, sc := range r.Syscalls {
			names = append(names, sc.Name)
		}
		line := fmt.Sprintf("%s: %s %s", r.Name, strings.Join(names, ","), r.Action)
		if r.When != nil {
			line += " when " + FormatCond(r.When)
		}
		if r.Arch != nil {
			line += " arch " + strings.Join(r.Arch, ",")
		}
		rules = append(rules, line)
	}
	wantRules := []string{
		"log_write: write allow when arg0 == 2 || arg0 == fd.logfile",
		"log_sync: fsync allow when arg0 == fd.logfile",
		"accept: accept4 allow when arg0 == fd.metrics_socket && arg1 == 0 && arg2 == 0 && arg3 == bitor(SOCK_CLOEXEC, SOCK_NONBLOCK)",
		"client_io: read,sendto,close allow when !contains([2, fd.logfile, fd.metrics_socket], arg0)",
		"wait: poll allow arch x86_64",
		"wait_arm64: ppoll allow arch aarch64",
	}
	if !reflect.DeepEqual(rules, wantRules) {
		t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(rules, "\n"), strings.Join(wantRules, "\n"))
	}

	// The tree itself, with ranges, for one rule.
	or, ok := s.Rules[0].When.(Or)
	if !ok || len(or.Xs) != 2 {
		t.Fatalf("log_write when = %#v, want an Or of two", s.Rules[0].When)
	}
	cmp := or.Xs[1].(Compare)
	if ref, ok := cmp.V.(FdRef); !ok || ref.Name != "logfile" {
		t.Errorf("second operand = %#v, want fd.logfile", cmp.V)
	}
	if got := rangeText(cfg, cmp.V.Range()); got != "fd.logfile" {
		t.Errorf("range of fd.logfile covers %q", got)
	}
	if got := rangeText(cfg, s.Rules[0].Syscalls[0].Range); got != `"write"` {
		t.Errorf("range of the syscall covers %q", got)
	}

	var tests []string
	for _, tc := range cfg.Tests {
		var args []string
		for _, a := range tc.Args {
			args = append(args, FormatValue(a))
		}
		tests = append(tests, fmt.Sprintf("%s: %s %s(%s) -> %s", tc.Name, tc.Service, tc.Syscall.Name, strings.Join(args, ","), tc.Expect))
	}
	wantTests := []string{
		"stderr is writable: metrics write(2) -> allow",
		"a client socket cannot be written with write(2): metrics write(7) -> kill_process",
	}
	if !reflect.DeepEqual(tests, wantTests) {
		t.Errorf("tests:\n%s\nwant:\n%s", strings.Join(tests, "\n"), strings.Join(wantTests, "\n"))
	}
}

// rangeText is the source a range covers.
func rangeText(cfg *Config, rng hcl.Range) string {
	f, ok := cfg.Files[rng.Filename]
	if !ok {
		return "<no file " + rng.Filename + ">"
	}
	return string(f.Bytes[rng.Start.Byte:rng.End.Byte])
}

func TestImplicitHost(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "spec", "main.fencer.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	// The example without its host block, nor the service's hosts.
	text := string(src)
	start := strings.Index(text, `host "edge"`)
	end := strings.Index(text, `service "metrics"`)
	text = text[:start] + text[end:]
	text = strings.Replace(text, `hosts          = ["edge"]`, "", 1)
	text = strings.Replace(text, `file("metrics.service")`, `"[Service]\nExecStart=/bin/true\n"`, 1)
	cfg := mustParse(t, map[string][]byte{"main.fencer.hcl": []byte(text)}, LoadOptions{})
	want := []*Host{{Name: "local", Group: "local", Port: 22, Scope: "system", FencerPath: "/usr/local/bin/fencer", Implicit: true}}
	if !reflect.DeepEqual(cfg.Hosts, want) {
		t.Errorf("hosts = %+v, want the implicit local host", cfg.Hosts[0])
	}
	if got := cfg.Services[0].Hosts; !reflect.DeepEqual(got, []string{"local"}) {
		t.Errorf("service hosts = %q, want every host", got)
	}
}

func TestFileFunction(t *testing.T) {
	files := map[string][]byte{
		"main.fencer.hcl": []byte(`service "m" {
  unit      = "m.service"
  unit_file = file("units/m.service")
}
`),
		"units/m.service": []byte("[Service]\nExecStart=/bin/m\n"),
	}
	cfg := mustParse(t, files, LoadOptions{})
	if got := cfg.Services[0].UnitFile; got == nil || *got != "[Service]\nExecStart=/bin/m\n" {
		t.Errorf("unit_file = %v", got)
	}
}

func TestLoadEmptyDir(t *testing.T) {
	_, diags := Load(t.TempDir(), LoadOptions{})
	if !diags.HasErrors() || diags[0].Summary != "No configuration files" || diags[0].Subject == nil {
		t.Errorf("diagnostics = %v, want No configuration files", diags)
	}
}

// TestConfigID checks the configuration's id: the fencer block's, else
// the name of the configuration's directory; a directory name that
// cannot be an id leaves none, and says why.
func TestConfigID(t *testing.T) {
	write := func(dir, src string) string {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.fencer.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	const svc = "service \"m\" {\n  unit = \"m.service\"\n}\n"
	root := t.TempDir()
	for _, c := range []struct {
		dir, src, id, problem string
	}{
		{"web-fleet", svc, "web-fleet", ""},
		{"other", "variable \"env\" {\n  default = \"prod\"\n}\nfencer {\n  id = \"web-${var.env}\"\n}\n" + svc, "web-prod", ""},
		{"my policies", svc, "", `the configuration's id is the name of its directory unless a fencer block sets one, and "my policies" has the character ' '`},
		{"my policies2", "fencer {\n  id = \"mine\"\n}\n" + svc, "mine", ""},
	} {
		cfg, diags := Load(write(filepath.Join(root, c.dir), c.src), LoadOptions{})
		if diags.HasErrors() {
			t.Fatalf("%s: %v", c.dir, diags)
		}
		if cfg.ID != c.id || !strings.HasPrefix(cfg.IDProblem, c.problem) || (c.problem == "") != (cfg.IDProblem == "") {
			t.Errorf("%s: id %q (%q), want %q (%q)", c.dir, cfg.ID, cfg.IDProblem, c.id, c.problem)
		}
	}
	// Relative to the working directory, it is the directory's name too.
	t.Chdir(filepath.Join(root, "web-fleet"))
	if cfg, _ := Load(".", LoadOptions{}); cfg.ID != "web-fleet" {
		t.Errorf("Load(\".\"): id %q", cfg.ID)
	}
}

// TestName: what Name makes of any name is a name a block may have, and a
// valid one is kept.
func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"metrics": "metrics", "fd_gui-tile": "fd_gui-tile", "worker@1": "worker_1",
		"a.b:c\\x2d": "a_b_c_x2d", "2nd": "_2nd", "": "_", "_x": "__x", "é": "__",
	} {
		got := Name(in)
		if got != want || !hclsyntax.ValidIdentifier(got) {
			t.Errorf("Name(%q) = %q, want %q (an identifier)", in, got, want)
		}
	}
}
