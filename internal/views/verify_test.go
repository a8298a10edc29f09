package views

import (
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/verify"
)

// TestVerify checks how verify's reports read: a host in sync, one that
// drifted, with its findings by unit and the notes, and one that could not
// be checked.
func TestVerify(t *testing.T) {
	reports := []*verify.HostReport{
		{Host: "a", Findings: []verify.Finding{}, Notes: []verify.Note{{Unit: "m.service", Text: "MainPID 7 carries the planned filter (3 instructions, read back with ptrace)"}}},
		{Host: "b", Findings: []verify.Finding{
			{Unit: "m.service", Kind: "setting", Subject: "NoNewPrivileges", Problem: "no_new_privs is not set for the service", Want: "yes", Got: "no"},
			{Kind: "file", Subject: "/etc/fencer/filters/m.service.bpf", Problem: "the filter is missing"},
			{Unit: "m.service", Kind: "setting", Subject: "SystemCallLog", Problem: "systemd does not log the syscalls the policy logs, or logs others", Want: "write"},
		}, Notes: []verify.Note{}},
		{Host: "c", Error: "reading facts: host c: no such host"},
	}
	var out strings.Builder
	Verify(&out, reports, false)
	want := `host "a": in sync
  m.service  note: MainPID 7 carries the planned filter (3 instructions, read back with ptrace)
host "b": 3 difference(s)
  m.service  setting NoNewPrivileges: no_new_privs is not set for the service
      planned: yes
      found:   no
  -  file /etc/fencer/filters/m.service.bpf: the filter is missing
  m.service  setting SystemCallLog: systemd does not log the syscalls the policy logs, or logs others
      planned: write
      found:   (nothing)
host "c": cannot verify: reading facts: host c: no such host

1 of 3 hosts drifted from the configuration.
`
	if out.String() != want {
		t.Errorf("verify output:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	Verify(&out, reports[:1], true)
	if out.String() != "\x1b[32mhost \"a\": in sync\x1b[0m\n  m.service  note: MainPID 7 carries the planned filter (3 instructions, read back with ptrace)\n" {
		t.Errorf("in color: %q", out.String())
	}
}
