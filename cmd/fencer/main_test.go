package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the scripts run "fencer" as a command: the test binary,
// copied under that name, runs main's run when started as fencer.
// "fencer-built" is fencer that then prints, on stderr, the architectures
// whose tables the command built (arch.Built), for the scripts that check
// that a command builds only what it needs.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"fencer": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ())) },
		"fencer-built": func() {
			code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ())
			fmt.Fprintf(os.Stderr, "built: [%s]\n", strings.Join(arch.Built(), " "))
			os.Exit(code)
		},
	})
}

// TestScripts runs testdata/script/*.txtar, one behaviour of the command
// line per file.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			// Scripts reach the bundled examples as $EXAMPLES.
			examples, err := filepath.Abs(filepath.Join("..", "..", "examples"))
			env.Setenv("EXAMPLES", examples)
			return err
		},
		Condition: scriptCondition,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"hexhead":   cmdHexhead,
			"exitcode":  cmdExitcode,
			"sha256env": cmdSha256env,
			"mkfifo":    cmdMkfifo,
			"mkfile":    cmdMkfile,
			"tamper":    cmdTamper,
		},
	})
}

// cmdHexhead prints the size of a file, whether it is a whole number of
// 8-byte instructions, and its first N bytes in hex:
//
//	hexhead FILE N
func cmdHexhead(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: hexhead FILE N")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	n = min(n, len(b))
	fmt.Fprintf(ts.Stdout(), "size %d, %d instructions, %d bytes over\n", len(b), len(b)/8, len(b)%8)
	fmt.Fprintf(ts.Stdout(), "head %s\n", hex.EncodeToString(b[:n]))
}

// cmdExitcode runs a command, as exec does, and checks its exit code:
//
//	exitcode N CMD [ARGS...]
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N CMD [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// scriptCondition adds the scripts' conditions: [strace] holds when strace
// can be run, and always under CI=true, where .ci/run installs it and a
// skip would hide a failure.
func scriptCondition(cond string) (bool, error) {
	if cond != "strace" {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	if os.Getenv("CI") == "true" {
		return true, nil
	}
	_, err := exec.LookPath("strace")
	return err == nil, nil
}
