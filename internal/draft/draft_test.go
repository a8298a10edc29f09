package draft

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/observe"
	"github.com/fencer-dev/fencer/plan/lint"
)

var recordings = map[string]func(string) *observe.Recording{
	"small_daemon":    smallDaemon,
	"threaded_server": threadedServer,
	"echo":            echo,
}

// TestRecordingsDraftCleanPolicies: each hand-made recording gives a
// policy that passes its own check (Write runs it) and that validate
// -strict accepts: no lint finds anything to say about it — on every
// architecture but i386 and s390x, whose mmap takes its arguments in
// memory, so that the lint rightly says no fd condition on read or write
// holds there while mmap is allowed (and a program cannot do without it).
func TestRecordingsDraftCleanPolicies(t *testing.T) {
	for name, mk := range recordings {
		for _, archName := range []string{"x86_64", "aarch64", "arm", "riscv64", "ppc64le"} {
			t.Run(name+"/"+archName, func(t *testing.T) {
				out, err := Write(mk(archName), Options{})
				if err != nil {
					t.Fatal(err)
				}
				cfg, diags := hclspec.Parse(map[string][]byte{"draft.fencer.hcl": out}, hclspec.LoadOptions{})
				if diags.HasErrors() {
					t.Fatal(diags)
				}
				for _, dg := range lint.Policies(cfg, []string{archName}) {
					if dg.Severity == hcl.DiagWarning || dg.Severity == hcl.DiagError {
						t.Errorf("%s: %s: %s", dg.Subject, dg.Summary, dg.Detail)
					}
				}
				if t.Failed() {
					t.Logf("\n%s", out)
				}
			})
		}
	}
}

// TestCheckRefusesACallThePolicyKills: a policy written for one recording
// does not pass the check of a recording with one more syscall.
func TestCheckRefusesACallThePolicyKills(t *testing.T) {
	rec := smallDaemon("x86_64")
	out, err := Write(rec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"draft.fencer.hcl": out}
	if err := Check(rec, files, "demo"); err != nil {
		t.Fatalf("the recording itself: %v", err)
	}
	b := &builder{a: mustArch("x86_64"), rec: rec, now: rec.Elapsed}
	b.call(4000, 4000, "ptrace", 0, 16, 1)
	err = Check(rec, files, "demo")
	if err == nil || !strings.Contains(err.Error(), "ptrace(0x10, 0x1") || !strings.Contains(err.Error(), "kill_process") {
		t.Fatalf("Check = %v, want the ptrace call killed", err)
	}
}

func mustArch(name string) *arch.Arch {
	a, ok := arch.Lookup(name)
	if !ok {
		panic(name)
	}
	return a
}

// TestOmittedCounted: calls the recorder counted but did not keep are
// in the comments.
func TestOmittedCounted(t *testing.T) {
	rec := smallDaemon("x86_64")
	rec.Omitted = map[string]int64{"read": 5000, "nr 9999": 3}
	out, err := Write(rec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"The recorder counted 5003 more calls without keeping them",
		"read: 6 calls, 3 at start-up, 3 after; 5000 more counted, not kept.",
		"syscall numbers fencer has no name for on x86_64, which the policy kills: 9999",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

// TestFdBlocks: an fd keeps its binding when fencer gives the block the
// recorded number with it, and is declared by number (the binding in a
// comment) when it would not.
func TestFdBlocks(t *testing.T) {
	for _, tc := range []struct {
		fds  []observe.Fd
		want []string
	}{{
		fds: []observe.Fd{
			{Number: 0, Name: "stdin", Kind: "stdin", Value: "null"},
			{Number: 1, Name: "stdout", Kind: "stdout", Value: "append:/var/log/x.log"},
			{Number: 2, Name: "stderr", Kind: "stdout", Value: "journal"},
			{Number: 3, Name: "web.socket", Kind: "listen_stream", Value: "127.0.0.1:8080"},
			{Number: 4, Name: "web.socket", Kind: "listen_stream", Value: "no address"},
			{Number: 6, Name: "gap", Kind: "listen_stream", Value: "8081"},
		},
		want: []string{
			"fd \"stdin\" {\n    stdin = \"null\"",
			"fd \"stdout\" {\n    stdout = \"append:/var/log/x.log\"",
			"# Recorded as stdout = \"journal\": that binding would make it fd 1, it was fd 2.\n" +
				"  # No recorded call used it.\n  fd \"stderr\" {\n    number = 2",
			"fd \"web_socket\" {\n    listen_stream = \"127.0.0.1:8080\"",
			"# Recorded as listen_stream = \"no address\": ",
			"fd \"web_socket_2\" {\n    number = 4",
			"that binding would make it fd 4, it was fd 6",
			"fd \"gap\" {\n    number = 6",
			"rule \"io_stdout\" {\n    syscalls = [\"write\"]\n    when     = arg0 == fd.stdout",
		},
	}, {
		fds: []observe.Fd{
			{Number: 1, Name: "stdout", Kind: "stdout", Value: "journal"},
			{Number: 3, Name: "web", Kind: "listen_stream", Value: "8080"},
			{Number: 4, Name: "Data", Kind: "open_file", Value: "/srv/data"},
			{Number: 5, Name: "late", Kind: "listen_datagram", Value: "9000"},
		},
		want: []string{
			"fd \"data\" {\n    open_file = \"/srv/data\"",
			"systemd passes every socket before the open files",
			"fd \"late\" {\n    number = 5",
		},
	}} {
		b := newBuilder("x86_64", tc.fds...)
		b.call(1, 1, "write", 1, 1, 0, 1)
		out, err := Write(b.rec, Options{Service: "x"})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range tc.want {
			if !strings.Contains(string(out), want) {
				t.Errorf("no %q in\n%s", want, out)
			}
		}
	}
}

// TestFamilies: a condition on one syscall of a family is not undone by
// another the program uses: clone allows what fork and vfork do, accept4
// what accept does, no mapping call keeps W^X when one made rwx memory
// (a JIT), every signal-sending call names its signals, close_range stays
// above the fds conditions name; and validate's lints find nothing.
func TestFamilies(t *testing.T) {
	b := newBuilder("x86_64", stdio...)
	const pid = 50
	b.call(pid, pid, "write", 3, 2, 0, 3)
	b.call(pid, pid, "close_range", 0, 4, 0xffffffff, 0)
	b.call(pid, pid, "clone", 51, b.k("CLONE_VM", "CLONE_FS", "CLONE_FILES", "CLONE_SIGHAND", "CLONE_THREAD", "CLONE_SYSVSEM",
		"CLONE_SETTLS", "CLONE_PARENT_SETTID", "CLONE_CHILD_CLEARTID"), 0, 0, 0, 0)
	b.call(pid, pid, "fork", 52)
	b.call(pid, pid, "vfork", 53)
	b.call(pid, pid, "accept", 6, 3, 0, 0)
	b.call(pid, pid, "accept4", 7, 3, 0, 0, b.k("SOCK_CLOEXEC"))
	b.call(pid, pid, "mmap", 0x7f0000000000, 0, 4096, b.k("PROT_READ", "PROT_WRITE", "PROT_EXEC"), b.k("MAP_PRIVATE", "MAP_ANONYMOUS"), 0xffffffffffffffff, 0)
	b.call(pid, pid, "mprotect", 0, 0x7f0000000000, 4096, b.k("PROT_READ", "PROT_EXEC"))
	b.call(pid, pid, "tgkill", 0, pid, 51, 33)
	b.call(pid, pid, "kill", 0, 52, b.k("SIGTERM"))
	out, err := Write(b.rec, Options{Service: "fam"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"when     = contains([SIGCHLD, bitor(SIGCHLD, CLONE_VM, CLONE_VFORK), bitor(CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND, CLONE_THREAD, CLONE_SYSVSEM, CLONE_SETTLS, CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID)], arg0)",
		"when     = arg0 == fd.http && contains([0, SOCK_CLOEXEC], arg3)",
		"rule \"memory\" {\n    syscalls = [\"mprotect\"]\n  }",
		"when     = arg2 == 33",
		"when     = arg1 == SIGTERM",
		"when     = arg0 > 3",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "PROT_WRITE, PROT_EXEC))") {
		t.Errorf("a W^X condition although the program mapped rwx memory:\n%s", out)
	}
	cfg, diags := hclspec.Parse(map[string][]byte{"d.fencer.hcl": out}, hclspec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, dg := range lint.Policies(cfg, nil) {
		t.Errorf("%s: %s: %s", dg.Subject, dg.Summary, dg.Detail)
	}
}
