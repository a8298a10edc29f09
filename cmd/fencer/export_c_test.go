package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/kernel"
)

// crossDefines makes the host's gcc (x86_64) compile a header as for
// another architecture: lines put after every system header is included
// (so that glibc and the kernel headers are the host's, and the header's
// own includes do nothing) and before the header, whose guard then sees
// that architecture. struct sock_filter is laid out alike everywhere, so
// the array holds the program in the host's byte order.
var crossDefines = map[string]string{
	"x86_64":  "",
	"aarch64": "#undef __x86_64__\n#define __aarch64__ 1",
	"i386":    "#undef __x86_64__\n#define __i386__ 1",
	"arm":     "#undef __x86_64__\n#define __arm__ 1",
	"riscv64": "#undef __x86_64__\n#define __riscv 1\n#define __riscv_xlen 64",
	"ppc64le": "#undef __x86_64__\n#define __powerpc64__ 1\n#define __LITTLE_ENDIAN__ 1",
	"s390x":   "#undef __x86_64__\n#define __s390x__ 1",
}

// exportCase is a service whose header is compiled with gcc and called with
// fd numbers.
type exportCase struct {
	name    string
	dir     string // the configuration
	service string
	fds     []string // the function's parameters, in order
	values  [][]uint32
	// long is set for a case whose program has jumps beyond 255
	// instructions, which the test checks it has.
	long bool
}

const testPolicy = `service "edge-proxy" {
  unit           = "edge-proxy.service"
  default_action = errno(EPERM)

  fd "log-file" {
    stdout = "append:/var/log/p.log"
  }
  fd "front" {
    listen_stream = "0.0.0.0:80"
  }
  fd "back" {
    listen_stream = "127.0.0.1:81"
  }
  fd "unused" {
    listen_stream = "127.0.0.1:82"
  }

  rule "log" {
    syscalls = ["write", "writev"]
    when     = arg0 == fd.log-file || arg0 == 2
  }
  rule "io" {
    syscalls = ["read", "close", "sendto", "recvfrom"]
    when     = !contains([0, 1, 2, 3, fd.log-file, fd.front, fd.back, 4], arg0)
  }
  rule "accept" {
    syscalls = ["accept4"]
    when     = contains([fd.front, fd.back], arg0) && arg3 == bitor(SOCK_CLOEXEC, SOCK_NONBLOCK)
  }
  rule "seek" {
    syscalls = ["lseek"]
    when     = arg0 > fd.back && arg1 <= fd.front
  }
  rule "exit" {
    syscalls = ["exit_group", "rt_sigreturn"]
  }
}
`

// longPolicy has enough alternatives that jumps go beyond 255
// instructions, through the builder's trampolines.
func longPolicy() string {
	var alts []string
	for i := 0; i < 160; i++ {
		alts = append(alts, fmt.Sprintf("(arg1 == %d && arg2 == %d)", 3*i, 5*i))
	}
	alts = append(alts, "arg2 == fd.b")
	return `service "long" {
  unit           = "long.service"
  default_action = kill_process

  fd "a" {
    listen_stream = "0.0.0.0:80"
  }
  fd "b" {
    listen_stream = "0.0.0.0:81"
  }

  rule "many" {
    syscalls = ["pwrite64", "pread64"]
    when     = arg0 == fd.a && (` + strings.Join(alts, " || ") + `)
  }
  rule "exit" {
    syscalls = ["exit_group"]
  }
}
`
}

func exportCases(t *testing.T) []exportCase {
	dir := t.TempDir()
	examples, err := filepath.Abs(filepath.Join("..", "..", "examples", "metrics"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, src string) string {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "main.fencer.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return []exportCase{
		{"metrics", examples, "metrics", []string{"logfile", "metrics_socket"},
			[][]uint32{{1, 3}, {3, 3}, {2, 0}, {0xffffffff, 7}}, false},
		{"proxy", write("proxy", testPolicy), "edge-proxy", []string{"log-file", "front", "back", "unused"},
			[][]uint32{{1, 3, 4, 5}, {5, 6, 7, 8}, {2, 2, 2, 2}, {0, 0xffffffff, 1, 0}}, false},
		{"long", write("long", longPolicy()), "long", []string{"a", "b"},
			[][]uint32{{3, 4}, {9, 9}}, true},
	}
}

// fencerRun runs fencer in this process and returns its stdout.
func fencerRun(t *testing.T, args ...string) []byte {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, strings.NewReader(""), &out, &errb, nil); code != 0 {
		t.Fatalf("fencer %s: exit %d\n%s", strings.Join(args, " "), code, errb.String())
	}
	return out.Bytes()
}

// mainC calls the header's function with the fd numbers of its command
// line and writes the array to stdout.
const mainC = `#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
CROSS
#include "filter.h"

int main( int argc, char ** argv ) {
  unsigned int fd[ 8 ] = { 0 };
  for( int i = 1; i < argc && i <= 8; i++ ) fd[ i - 1 ] = (unsigned int)strtoul( argv[ i ], NULL, 0 );
  struct sock_filter out[ CNT ];
  populate_sock_filter_policy_NAME( CNT, out ARGS );
  fwrite( out, sizeof( out[ 0 ] ), CNT, stdout );
  return 0;
}
`

// TestExportC writes the header of each case for every architecture,
// compiles a program that includes it with gcc as C99 (and, for x86_64,
// g++ as C++11), -Wall -Wextra -Werror -pedantic, runs it with several fd numbers, and requires
// its array to be, byte for byte, what export bpf -fd writes for those
// numbers (in the host's byte order); on x86_64 the kernel must accept
// it. A header compiled for another architecture stops with its #error.
func TestExportC(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the header test compiles with the host's gcc as for each architecture from x86_64")
	}
	for _, compiler := range []string{"gcc", "g++"} {
		if _, err := exec.LookPath(compiler); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed in CI: %v", compiler, err)
			}
			t.Skipf("no %s: %v", compiler, err)
		}
	}
	var loaded atomic.Int64
	t.Run("cases", func(t *testing.T) {
		for _, c := range exportCases(t) {
			for _, a := range arch.All() {
				t.Run(c.name+"/"+a.Name, func(t *testing.T) {
					t.Parallel()
					loaded.Add(int64(checkHeader(t, c, a)))
				})
			}
		}
	})
	if loaded.Load() == 0 && !t.Failed() {
		t.Error("no program was loaded into the kernel")
	}
}

// checkHeader is TestExportC on one case and architecture; it returns
// how many programs the kernel took.
func checkHeader(t *testing.T, c exportCase, a *arch.Arch) int {
	dir := t.TempDir()
	// The directory as an argument, not -chdir: the subtests run
	// together in this process.
	header := fencerRun(t, "export", "c", "-arch="+a.Name, c.dir, "service."+c.service)
	if err := os.WriteFile(filepath.Join(dir, "filter.h"), header, 0o644); err != nil {
		t.Fatal(err)
	}
	name := strings.ReplaceAll(c.service, "-", "_")
	var args strings.Builder
	for i := range c.fds {
		fmt.Fprintf(&args, ", fd[ %d ]", i)
	}
	source := func(cross string) string {
		return strings.NewReplacer("CNT", "sock_filter_policy_"+name+"_instr_cnt", "NAME", name, " ARGS", args.String(), "CROSS", cross).Replace(mainC)
	}
	src := source(crossDefines[a.Name])
	bins := map[string]string{}
	compilers := []struct{ compiler, std, file string }{{"gcc", "-std=c99", "main.c"}, {"g++", "-std=c++11", "main.cc"}}
	if a != arch.X86_64 {
		compilers = compilers[:1] // C++ sees the same text but for the numbers
	}
	for _, cc := range compilers {
		if err := os.WriteFile(filepath.Join(dir, cc.file), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(dir, cc.compiler+".out")
		cmd := exec.Command(cc.compiler, cc.std, "-Wall", "-Wextra", "-Werror", "-pedantic", "-o", bin, filepath.Join(dir, cc.file))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s\n%s", cmd, err, out, header)
		}
		bins[cc.compiler] = bin
	}
	loaded := 0
	for _, vals := range c.values {
		var flags, argv []string
		for i, fd := range c.fds {
			flags = append(flags, fmt.Sprintf("-fd=%s=%d", fd, vals[i]))
			argv = append(argv, fmt.Sprint(vals[i]))
		}
		want := fencerRun(t, append(append([]string{"export", "bpf", "-arch=" + a.Name}, flags...), c.dir, "service."+c.service)...)
		prog, err := bpf.Decode(want, a.Order)
		if err != nil {
			t.Fatal(err)
		}
		if c.long && !hasTrampoline(prog) {
			t.Fatalf("the program of %d instructions has no jump beyond 255", len(prog))
		}
		host := prog.Encode(binary.LittleEndian)
		for compiler, bin := range bins {
			got, err := exec.Command(bin, argv...).Output()
			if err != nil {
				t.Fatalf("%s %v: %v", bin, argv, err)
			}
			if !bytes.Equal(got, host) {
				t.Fatalf("%s, fds %v: the header's array (%d bytes) differs from export bpf's program (%d bytes)\n%s", compiler, vals, len(got), len(host), header)
			}
		}
		if a == arch.X86_64 {
			if err := kernel.Load(prog); err != nil {
				t.Fatalf("fds %v: the kernel refuses the program: %v", vals, err)
			}
			loaded++
		}
	}
	// Compiled for another architecture, the header stops.
	other := crossDefines["s390x"]
	if a.Name == "s390x" {
		other = ""
	}
	if err := os.WriteFile(filepath.Join(dir, "other.c"), []byte(source(other)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("gcc", "-std=c99", "-fsyntax-only", filepath.Join(dir, "other.c"))
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "this seccomp filter is for "+a.Name) {
		t.Errorf("%s: %v\n%s", cmd, err, out)
	}
	return loaded
}

// hasTrampoline reports a conditional jump to a `ja` that goes farther
// than a conditional jump reaches.
func hasTrampoline(p bpf.Program) bool {
	for pc, in := range p {
		if in.Code&0x07 != bpf.ClassJMP || in.Code&0xf0 == bpf.JmpJA {
			continue
		}
		for _, off := range []uint8{in.Jt, in.Jf} {
			to := pc + 1 + int(off)
			if to < len(p) && p[to].Code == bpf.ClassJMP|bpf.JmpJA && to+1+int(p[to].K)-(pc+1) > 255 {
				return true
			}
		}
	}
	return false
}
