package verify

// What the kernel runs for a path given to execve: the file the path
// leads to through symbolic links, and for a "#!" script the interpreter
// its first line names, followed the same way (fs/exec.c and
// fs/binfmt_script.c). /proc/PID/exe names the file the kernel finally
// loaded, so that, not the path written in ExecStart=, is what a running
// process is compared with.
//
// Not followed: formats registered with binfmt_misc (a file one of them
// runs reads as another program, its handler's, than planned), and the
// service's own view of the file system (RootDirectory=, bind mounts),
// which /proc/PID/exe shows from verify's.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/fencer-dev/fencer/internal/host"
)

// binprmBufSize is BINPRM_BUF_SIZE: the bytes of a file the kernel reads
// to choose how to execute it, the "#!" line included.
const binprmBufSize = 256

// maxExecDepth is how many files execve opens at most for one call: the
// file itself and up to five interpreters, each a "#!" script but the
// last (exec_binprm fails with ELOOP beyond).
const maxExecDepth = 6

// errNoExec is the kernel's ENOEXEC for a "#!" line it cannot use.
var errNoExec = errors.New("execve would fail with ENOEXEC")

// execStep is one file execve opens.
type execStep struct {
	// name is the path it is opened by: the path given, or an
	// interpreter as a "#!" line names it.
	name string
	// resolved is the file name leads to once every symbolic link is
	// followed.
	resolved string
	// interp and arg are the interpreter and its optional argument when
	// the file is a "#!" script.
	interp, arg string
}

// execution is what execve runs for a path.
type execution struct {
	steps []execStep
}

// binary is the file the kernel loads last: what /proc/PID/exe names.
func (e *execution) binary() string { return e.steps[len(e.steps)-1].resolved }

// script reports whether the path given is a "#!" script.
func (e *execution) script() bool { return len(e.steps) > 1 }

// literal reports whether the path given is itself the file loaded: no
// symbolic link, no interpreter.
func (e *execution) literal() bool {
	return len(e.steps) == 1 && e.steps[0].name == e.steps[0].resolved
}

// String says how the path given leads to the binary, for people:
// "/bin/x -> /usr/bin/x (symbolic links)", "/srv/run.sh: #!/bin/sh ->
// /usr/bin/dash (symbolic links)".
func (e *execution) String() string {
	var b strings.Builder
	for i, s := range e.steps {
		if i > 0 {
			fmt.Fprintf(&b, ": #!%s", s.name)
		} else {
			b.WriteString(s.name)
		}
		if s.resolved != s.name {
			fmt.Fprintf(&b, " -> %s (symbolic links)", s.resolved)
		}
	}
	return b.String()
}

// resolveExec follows path as execve would on the host in reaches: every
// symbolic link, then the "#!" interpreters. path must be absolute; so
// must every interpreter, since a relative one is opened from the
// service's working directory, which fencer does not know.
func resolveExec(ctx context.Context, procs host.Processes, path string) (*execution, error) {
	e := &execution{}
	name := path
	for {
		if len(e.steps) == maxExecDepth {
			return nil, fmt.Errorf("%s: more than %d interpreters: execve would fail with ELOOP", path, maxExecDepth-1)
		}
		if !strings.HasPrefix(name, "/") {
			return nil, fmt.Errorf("%s: interpreter %q is a relative path, which the kernel opens from the service's working directory", e.steps[len(e.steps)-1].resolved, name)
		}
		resolved, err := procs.Resolve(ctx, name)
		if err != nil {
			return nil, err
		}
		head, err := procs.Head(ctx, resolved, binprmBufSize)
		if err != nil {
			return nil, err
		}
		step := execStep{name: name, resolved: resolved}
		interp, arg, isScript, err := parseShebang(head)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", resolved, err)
		}
		step.interp, step.arg = interp, arg
		e.steps = append(e.steps, step)
		if !isScript {
			return e, nil
		}
		name = interp
	}
}

// parseShebang reads the first bytes of a file as load_script does
// (fs/binfmt_script.c, Linux 5.1 and later): not a script unless it starts
// with "#!"; the interpreter is the first word after it (words are
// separated by spaces and tabs), the optional argument everything after
// that up to the end of the line, with surrounding blanks trimmed; a NUL
// byte ends either. The line ends at the first newline within the first
// binprmBufSize bytes; without one, the interpreter must be followed by a
// blank or NUL within them, or the kernel refuses a name that may be
// truncated.
func parseShebang(head []byte) (interp, arg string, script bool, err error) {
	// The kernel's buffer: the file's first bytes, NUL-padded.
	buf := make([]byte, binprmBufSize)
	copy(buf, head)
	if buf[0] != '#' || buf[1] != '!' {
		return "", "", false, nil
	}
	last := len(buf) - 1
	end := bytes.IndexByte(buf, '\n')
	if end < 0 {
		first := nextNonBlank(buf, 2, last)
		if first < 0 {
			return "", "", true, fmt.Errorf("%w: the #! line is blank", errNoExec)
		}
		if nextTerminator(buf, first, last) < 0 {
			return "", "", true, fmt.Errorf("%w: the #! line has no end within %d bytes, so its interpreter would be truncated", errNoExec, binprmBufSize)
		}
		end = last
	}
	for blank(buf[end-1]) {
		end--
	}
	name := nextNonBlank(buf, 2, end)
	if name < 0 || name == end {
		return "", "", true, fmt.Errorf("%w: the #! line names no interpreter", errNoExec)
	}
	sep := nextTerminator(buf, name, end)
	argAt := -1
	if sep >= 0 && buf[sep] != 0 {
		argAt = nextNonBlank(buf, sep, end)
	}
	// The kernel ends the line with a NUL at end, and the interpreter at
	// sep when an argument follows; each is then read as a C string.
	line := buf[:end]
	nameEnd := end
	if argAt >= 0 {
		nameEnd = sep
		arg = cString(line[argAt:])
	}
	return cString(line[name:nameEnd]), arg, true, nil
}

func blank(c byte) bool { return c == ' ' || c == '\t' }

// nextNonBlank is next_non_spacetab: the first index in [first, last]
// that is not a blank, or -1.
func nextNonBlank(b []byte, first, last int) int {
	for ; first <= last; first++ {
		if !blank(b[first]) {
			return first
		}
	}
	return -1
}

// nextTerminator is next_terminator: the first index in [first, last]
// holding a blank or a NUL, or -1.
func nextTerminator(b []byte, first, last int) int {
	for ; first <= last; first++ {
		if blank(b[first]) || b[first] == 0 {
			return first
		}
	}
	return -1
}

// cString is b up to its first NUL.
func cString(b []byte) string {
	s, _, _ := bytes.Cut(b, []byte{0})
	return string(s)
}
