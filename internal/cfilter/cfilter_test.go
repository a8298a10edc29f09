package cfilter

import (
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/compile"
)

func TestParamNames(t *testing.T) {
	got, err := ParamNames([]string{"logfile", "metrics-socket", "tile_fd"})
	if err != nil || strings.Join(got, " ") != "logfile_fd metrics_socket_fd tile_fd" {
		t.Errorf("ParamNames: %v, %v", got, err)
	}
	for _, clash := range [][]string{{"a-b", "a_b"}, {"x", "x_fd"}} {
		if _, err := ParamNames(clash); err == nil || !strings.Contains(err.Error(), "rename one") {
			t.Errorf("%v: %v", clash, err)
		}
	}
}

// TestWrite checks the parts of a header the gcc test (cmd/fencer's
// TestExportC) cannot tell apart: the parameter in k, an unused
// parameter, and refusals.
func TestWrite(t *testing.T) {
	prog := &compile.Parametric{
		Program: bpf.Program{
			bpf.Stmt(bpf.ClassLD|bpf.SizeW|bpf.ModeABS, 16),
			bpf.Jump(bpf.ClassJMP|bpf.JmpJEQ|bpf.SrcK, 0, 0, 1),
			bpf.Stmt(bpf.ClassRET|bpf.RetK, bpf.RetAllow),
			bpf.Stmt(bpf.ClassRET|bpf.RetK, bpf.RetKillProcess),
		},
		Params: []string{"log"},
		Slots:  []int{-1, 0, -1, -1},
	}
	h := Header{Service: "s-1", Arch: arch.AArch64, Program: prog, Fds: []string{"log", "spare"}, Command: "fencer export c"}
	out, err := Write(h)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"#define sock_filter_policy_s_1_instr_cnt 4\n",
		"#if !(defined(__aarch64__) && !defined(__ILP32__))\n",
		"    /* 0001: jeq  log_fd, 0002, 0003 */\n    BPF_JUMP( BPF_JMP | BPF_JEQ | BPF_K, log_fd, 0, 1 ),\n",
		"  (void)spare_fd; /* the policy compares no argument with fd.spare */\n",
		"    BPF_STMT( BPF_RET | BPF_K, 0x7fff0000 ),\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the header lacks %q:\n%s", want, out)
		}
	}
	h.Fds = []string{"spare"}
	if _, err := Write(h); err == nil {
		t.Error("wrote a program comparing with an fd the service lacks")
	}
	h.Fds, h.Arch = []string{"log"}, &arch.Arch{Name: "vax"}
	if _, err := Write(h); err == nil {
		t.Error("wrote a header for an architecture without a guard")
	}
}
