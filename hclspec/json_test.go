package hclspec

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/policy"
)

func TestJSON(t *testing.T) {
	cfg, diags := Load("testdata/json", LoadOptions{})
	if len(diags) > 0 {
		t.Fatalf("diagnostics:\n%s", diagsText(diags))
	}
	if len(cfg.Hosts) != 2 || cfg.Hosts[0].Name != `edge["edge-1"]` || cfg.Hosts[0].Address != "edge-1" || cfg.Hosts[0].Arch != "aarch64" {
		t.Errorf("hosts = %+v", cfg.Hosts)
	}
	s := cfg.Services[0]
	if s.DefaultAction.Kind != policy.Errno || FormatValue(s.DefaultAction.Errno) != "EPERM" {
		t.Errorf("default_action = %v", s.DefaultAction)
	}
	var fds []string
	for _, fd := range s.Fds {
		fds = append(fds, fmt.Sprintf("%s=%d %s", fd.Name, fd.Number, fd.Value))
	}
	if want := []string{"logfile=1 append:/var/log/metrics.log", "metrics_socket=3 0.0.0.0:7999"}; !reflect.DeepEqual(fds, want) {
		t.Errorf("fds = %q, want %q", fds, want)
	}
	var rules []string
	for _, r := range s.Rules {
		var names []string
		for _, sc := range r.Syscalls {
			names = append(names, sc.Name+"/"+sc.Set)
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
	want := []string{
		"log_write: write/ allow when arg0 == 2 || arg0 == fd.logfile",
		"start: execve/startup,brk/startup,arch_prctl/ allow",
		"client_io: read/,close/ log when !contains([5, 6], arg0) && arg0 != -1",
		"deny_wait: poll/ kill_thread arch x86_64",
	}
	if !reflect.DeepEqual(rules, want) {
		t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(rules, "\n"), strings.Join(want, "\n"))
	}
	// The condition's ranges point into the JSON string.
	when := s.Rules[0].When.(Or)
	if got := rangeText(cfg, when.Xs[1].(Compare).V.Range()); got != "fd.logfile" {
		t.Errorf("range of fd.logfile in JSON covers %q", got)
	}
	tc := cfg.Tests[0]
	var args []string
	for _, a := range tc.Args {
		args = append(args, FormatValue(a))
	}
	if got := strings.Join(args, " "); got != "2 fd.logfile -1 bitor(O_RDONLY, 1)" || tc.Expect.String() != "allow" {
		t.Errorf("test args = %s, expect %s", got, tc.Expect)
	}
}

func TestJSONErrors(t *testing.T) {
	src := `{
  "service": {
    "m": {
      "unit": "m.service",
      "fd": {"log": {"stdout": "journal"}},
      "rule": {
        "r": {"syscalls": ["read"], "when": "arg0 == fd.lgo"}
      }
    }
  }
}
`
	_, diags := Parse(map[string][]byte{"main.fencer.json": []byte(src)}, LoadOptions{})
	if len(diags) != 1 {
		t.Fatalf("diagnostics:\n%s", diagsText(diags))
	}
	d := diags[0]
	if got := at(d); got != "main.fencer.json:7:54" || !strings.Contains(d.Detail, `Did you mean "log"?`) {
		t.Errorf("got %s: %s; %s", got, d.Summary, d.Detail)
	}
}
