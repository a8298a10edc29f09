package oci

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/policy"
)

// importText parses and imports src, failing on any error.
func importText(t *testing.T, src string, opt ImportOptions) string {
	t.Helper()
	p, diags := Parse("p.json", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if opt.Service == "" {
		opt.Service = "p"
	}
	im, diags := Import(p, opt)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return string(im.Text)
}

// TestBadProfiles: each mistake is an error at its line and column,
// with the words a user needs.
func TestBadProfiles(t *testing.T) {
	cases := []struct{ name, src, at, want string }{
		{"syntax", `{"defaultAction": "SCMP_ACT_ERRNO",}`, "p.json:1:36", "looking for beginning of object key"},
		{"not an object", `[1]`, "p.json:1:1", "A seccomp profile is a JSON object"},
		{"no default", `{"syscalls": []}`, "p.json:1:1", "needs a defaultAction"},
		{"misspelt key", `{"defaultAction": "SCMP_ACT_ERRNO", "syscals": []}`, "p.json:1:37", `Did you mean "syscalls"?`},
		{"unknown action", "{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOWW\"}]}", "p.json:2:45", `Did you mean "SCMP_ACT_ALLOW"?`},
		{"trace", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_TRACE"}]}`, "p.json:1:80", "fencer has no tracer action"},
		{"notify", `{"defaultAction": "SCMP_ACT_NOTIFY"}`, "p.json:1:19", "no notification action"},
		{"allow default", `{"defaultAction": "SCMP_ACT_ALLOW"}`, "p.json:1:19", "cannot be imported"},
		{"unknown op", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQQ"}]}]}`, "p.json:1:138", `Did you mean "SCMP_CMP_EQ"?`},
		{"index", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}`, "p.json:1:117", "from 0 to 5"},
		{"negative", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]}`, "p.json:1:129", "whole number from 0"},
		{"both names", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}]}`, "p.json:1:67", "either name or names"},
		{"arch", `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_46"]}`, "p.json:1:55", `Did you mean "SCMP_ARCH_X86_64"?`},
		{"both arch lists", `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}`, "p.json:1:76", "either architectures or archMap"},
		{"cap", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMN"]}}]}`, "p.json:1:120", `Did you mean "CAP_SYS_ADMIN"?`},
		{"native arch", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd46"]}}]}`, "p.json:1:122", `Did you mean "amd64"?`},
		{"min kernel", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "four"}}]}`, "p.json:1:124", "not a kernel version"},
		{"wrong type", `{"defaultAction": 1}`, "p.json:1:19", "defaultAction is a string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, diags := Parse("p.json", []byte(c.src))
			if !diags.HasErrors() {
				_, diags = Import(p, ImportOptions{Service: "p"})
			}
			if !diags.HasErrors() {
				t.Fatalf("no error")
			}
			d := diags.Errs()[0].(*hcl.Diagnostic)
			at := ""
			if d.Subject != nil {
				at = d.Subject.Filename + ":" + itoa(d.Subject.Start.Line) + ":" + itoa(d.Subject.Start.Column)
			}
			if at != c.at || !strings.Contains(d.Summary+" "+d.Detail, c.want) {
				t.Errorf("got %s: %s: %s\nwant %s: ...%s...", at, d.Summary, d.Detail, c.at, c.want)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestImportForms: what each part of a profile becomes.
func TestImportForms(t *testing.T) {
	const head = `{"defaultAction": "SCMP_ACT_KILL_PROCESS", "syscalls": [`
	cases := []struct{ name, entries, want string }{
		{"masked", `{"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}`,
			"when     = masked(arg0, 2114060288) == 0"},
		{"masked value under the mask, as libseccomp", `{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 4, "valueTwo": 6, "op": "SCMP_CMP_MASKED_EQ"}]}`,
			"when     = masked(arg1, 4) == 4"},
		{"and", `{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 5, "op": "SCMP_CMP_LE"}]}`,
			"when     = arg0 == 2 && arg1 <= 5"},
		{"same index is or, as runc", `{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 10, "op": "SCMP_CMP_EQ"}]}`,
			"when     = (arg0 == 2 || arg0 == 10)"},
		{"negative", `{"names": ["openat"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 18446744073709551516, "op": "SCMP_CMP_EQ"}]}`,
			"when     = arg0 == -100"},
		{"errno default EPERM", `{"names": ["mount"], "action": "SCMP_ACT_ERRNO"}`, "action   = errno(EPERM)"},
		{"errno", `{"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}`, "action   = errno(ENOSYS)"},
		{"errno capped", `{"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5000}`, "action   = errno(4095)"},
		{"kill is kill_thread", `{"names": ["mount"], "action": "SCMP_ACT_KILL"}`, "action   = kill_thread"},
		{"log", `{"names": ["mount"], "action": "SCMP_ACT_LOG"}`, "action   = log"},
		{"trap", `{"names": ["mount"], "action": "SCMP_ACT_TRAP"}`, "action   = trap"},
		{"caps", `{"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"]}, "excludes": {"caps": ["CAP_BPF"]}}`,
			"when     = var.cap_sys_admin && var.cap_net_admin && !var.cap_bpf"},
		{"includes arches", `{"names": ["modify_ldt"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x86", "x32"]}}`,
			`arch     = ["x86_64", "i386"]`},
		{"same as default dropped", `{"names": ["mount"], "action": "SCMP_ACT_KILL_PROCESS"}`, "runc drops such a rule"},
		{"unknown name", `{"names": ["read", "no_such_call"], "action": "SCMP_ACT_ALLOW"}`, "Not a syscall fencer knows on"},
		{"names by arch", `{"names": ["open", "openat"], "action": "SCMP_ACT_ALLOW"}`, `arch     = ["x86_64", "i386", "arm", "ppc64le", "s390x"]`},
		{"clone's arg on s390x", `{"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}`,
			`arch     = ["s390x"]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := importText(t, head+c.entries+"]}", ImportOptions{})
			if !strings.Contains(text, c.want) {
				t.Errorf("no %q in\n%s", c.want, text)
			}
		})
	}
}

// TestImportKernelAndCaps: minKernel decided by the -kernel version (or
// as met), capability variables defaulting to Docker's set.
func TestImportKernelAndCaps(t *testing.T) {
	src := `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
	  {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
	  {"names": ["kcmp"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.10"}},
	  {"names": ["chroot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_CHROOT"]}}]}`
	newest := importText(t, src, ImportOptions{})
	old := KernelVersion{4, 4, 0}
	older := importText(t, src, ImportOptions{Kernel: &old})
	for _, c := range []struct {
		text, want string
		has        bool
	}{
		{newest, `syscalls = ["ptrace"]`, true}, {newest, `syscalls = ["kcmp"]`, false},
		{older, `syscalls = ["ptrace"]`, false}, {older, `syscalls = ["kcmp"]`, true},
		{newest, "default     = true", true}, {newest, "when     = var.cap_sys_chroot", true},
	} {
		if strings.Contains(c.text, c.want) != c.has {
			t.Errorf("%q in the import: %v, want %v\n%s", c.want, !c.has, c.has, c.text)
		}
	}
	if v, err := ParseKernel("5.10.0-28-amd64"); err != nil || v != (KernelVersion{5, 10, 0}) {
		t.Errorf("ParseKernel: %v, %v", v, err)
	}
}

// TestExportForms: what a profile says for each kind of condition.
func TestExportForms(t *testing.T) {
	a := arch.X86_64
	f := &policy.Filter{Arch: a.Name, AuditArch: a.Audit, Order: a.Order, Default: policy.Action{Kind: policy.Errno, Data: 1}}
	nr := func(n string) uint32 { x, _ := a.Syscall(n); return uint32(x) }
	f.Rules = []policy.Rule{
		{Syscall: "read", Nr: nr("read"), When: policy.Const(true), Action: policy.ActAllow},
		{Syscall: "write", Nr: nr("write"), When: policy.Cmp{Arg: 0, Mask: 0xffffffff, Op: policy.EQ, Value: 2}, Action: policy.ActAllow},
		{Syscall: "lseek", Nr: nr("lseek"), When: policy.Cmp{Arg: 1, Mask: ^uint64(0), Op: policy.LT, Value: 100}, Action: policy.ActAllow},
		{Syscall: "mount", Nr: nr("mount"), When: policy.Const(true), Action: policy.ActKillProcess},
	}
	out, err := Export([]*policy.Filter{f}, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"defaultAction": "SCMP_ACT_ERRNO"`, `"defaultErrnoRet": 1`, `"architectures": [`, `"SCMP_ARCH_X86_64"`,
		`"value": 4294967295,
          "valueTwo": 2,
          "op": "SCMP_CMP_MASKED_EQ"`, `"op": "SCMP_CMP_LE"`, `"SCMP_ACT_KILL_PROCESS"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %s in\n%s", want, out)
		}
	}
	f.ExecOnce = []uint32{nr("execve")}
	if _, err := Export([]*policy.Filter{f}, ExportOptions{}); err == nil || !strings.Contains(err.Error(), "-allow-exec") {
		t.Errorf("exec once exported: %v", err)
	}
	f.ExecOnce = nil
	f.Rules = append(f.Rules, policy.Rule{Syscall: "kill", Nr: nr("kill"), When: policy.Const(true), Action: policy.Action{Kind: policy.Trap, Data: 3}})
	if _, err := Export([]*policy.Filter{f}, ExportOptions{}); err == nil || !strings.Contains(err.Error(), "syscall kill") {
		t.Errorf("trap(3) exported: %v", err)
	}
}

// TestCorpusImports: the corpus imports without error.
func TestCorpusImports(t *testing.T) {
	for _, name := range []string{"docker-default.json", "example.json", "conditional_include.json"} {
		src, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		importText(t, string(src), ImportOptions{})
	}
}

// TestImportOverlap: entries that give one syscall different actions warn
// unless their capabilities exclude each other.
func TestImportOverlap(t *testing.T) {
	src := `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
	  {"names": ["read"], "action": "SCMP_ACT_TRAP"},
	  {"names": ["read", "write"], "action": "SCMP_ACT_KILL_PROCESS", "args": [{"index": 0, "value": 5, "op": "SCMP_CMP_LT"}]},
	  {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
	  {"names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"caps": ["CAP_SYS_ADMIN"]}}]}`
	p, diags := Parse("p.json", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	_, diags = Import(p, ImportOptions{Service: "p"})
	if len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || diags[0].Subject.Start.Line != 3 ||
		!strings.Contains(diags[0].Detail, "syscalls[0] (line 2) and this entry give read different actions") {
		t.Errorf("diagnostics: %v", diags)
	}
}

// TestImportArchitectures: a profile's architectures become the
// service's arch list; names the others lack need no rule arch then.
func TestImportArchitectures(t *testing.T) {
	text := importText(t, `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
	  "syscalls": [{"names": ["open", "read"], "action": "SCMP_ACT_ALLOW"}]}`, ImportOptions{})
	for _, want := range []string{`arch           = ["x86_64", "i386"]`, `syscalls = ["open", "read"]`, "fencer does not support SCMP_ARCH_X32"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
	if strings.Contains(text, "    arch ") {
		t.Errorf("a rule with an arch list:\n%s", text)
	}
}
