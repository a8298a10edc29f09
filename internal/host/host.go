// Package host reaches the hosts fencer installs policies on: the local
// machine in system or user scope (Local), and a directory tree standing
// for a host (Root, -root=DIR). Target declares every operation plan,
// apply, verify and why do on a host — its facts, its files, its lock,
// systemctl and systemd-analyze, its processes — and is the one interface
// a new transport implements (internal/agent carries it over a stream,
// internal/sshhost over SSH); Reader is the part of
// it planning needs. The package also owns what a host's layout is
// (Facts: fencer's paths, systemd's unit search path) and how many hosts
// fencer works on at once (Each).
package host

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/procseccomp"
)

// Errors.
//
// Every call can fail, on this machine as over a network. The errors of
// the file, lock, systemctl and systemd-analyze calls name the host
// ("host NAME: ..."); those of Processes name the process or the file, as
// verify quotes them in its findings. Whatever the transport:
//
//   - A file or directory that does not exist is an error satisfying
//     errors.Is(err, fs.ErrNotExist) (ReadFile, FileMode, ReadDir, Links, ModTime,
//     Head, FileSum, Resolve); Remove of a missing file is no error.
//   - A host that cannot be reached, or a connection lost during a call,
//     is an error wrapping ErrUnreachable. What the call did is then
//     unknown, except that a file is never left half written: WriteFile
//     replaces it whole or not at all.
//   - A call made once its context is done (a deadline passed, or it was
//     cancelled), or interrupted by it (a command killed, a lock given
//     up), fails with an error wrapping the context's error
//     (errors.Is(err, context.DeadlineExceeded)); as with a lost
//     connection, what an interrupted call did is unknown. On this
//     machine, file operations are not interrupted once begun. Lock is
//     the exception: it tries once, and waits only while the context
//     lasts.
//   - Systemctl on a host where no systemd manager runs for the scope (a
//     -root tree, a machine booted without systemd), and Processes on a
//     host that runs no processes (a -root tree), return an error
//     wrapping ErrNotLive. Facts.Live says beforehand whether a manager
//     runs.
//
// The transports of this package never return ErrUnreachable: this
// machine is always there.
var (
	// ErrUnreachable is wrapped by the errors of a call that could not
	// reach the host.
	ErrUnreachable = errors.New("host unreachable")
	// ErrNotLive is wrapped by the errors of a call that needs a systemd
	// manager on a host where none runs.
	ErrNotLive = errors.New("no systemd manager runs")
)

// Reader is what planning reads of a host: its facts and the current
// content of the files fencer manages there (plan.Options.Hosts). Paths
// are absolute, clean host paths ("/etc/systemd/system/x.service"); a
// -root host maps them under its directory itself.
type Reader interface {
	// Name is the host's name in the configuration.
	Name() string
	// Facts reads what planning depends on: the architecture, systemd's
	// version and what it knows (systemd-analyze syscall-filter, and
	// systemd-analyze verify of scratch units), the scope's paths, the
	// unit search path (systemd-analyze unit-paths) and whether a manager
	// runs. It fails only when the host cannot say its architecture (or
	// cannot be reached); what else it cannot learn it leaves at its
	// default (Facts).
	Facts(ctx context.Context) (*Facts, error)
	// ReadFile returns a file's content and mode; an error satisfying
	// errors.Is(err, fs.ErrNotExist) when it does not exist. A path whose
	// directory is a symbolic link is refused with an error wrapping
	// ErrSymlink (see Target.WriteFile for the links accepted). A link
	// to /dev/null, or /dev/null itself, reads as empty with the mode of
	// a character device (a masked unit); any other file that is not a
	// regular file, and one over MaxHostFileBytes, is refused.
	ReadFile(ctx context.Context, path string) ([]byte, fs.FileMode, error)
	// FileMode returns the mode ReadFile returns for path, with its
	// errors, without reading the file: whether a file is there, for a
	// file as large as the loader, costs no transfer from the host.
	FileMode(ctx context.Context, path string) (fs.FileMode, error)
	// ReadDir lists a directory's entries (names only, sorted); an error
	// satisfying fs.ErrNotExist when it does not exist.
	ReadDir(ctx context.Context, path string) ([]string, error)
	// Links returns the symbolic links directly in a directory, by name,
	// each with its target resolved the way systemd resolves a link in a
	// unit directory (unitfile.Source.Links): absolute, with the links
	// among its directories resolved (inside a -root tree), the last
	// component as written; "" for one that cannot be read or resolved.
	// An error satisfying fs.ErrNotExist when the directory does not
	// exist.
	Links(ctx context.Context, path string) (map[string]string, error)
}

// Processes is what verify reads of a host's running processes and of
// the files its kernel would execute. A -root tree runs no processes:
// there every method returns an error wrapping ErrNotLive.
type Processes interface {
	// Status reads /proc/PID/status: the process's seccomp mode and
	// filter count.
	Status(ctx context.Context, pid int) (procseccomp.Status, error)
	// Filters reads the process's seccomp filters back (ptrace), newest
	// first.
	Filters(ctx context.Context, pid int) ([]bpf.Program, error)
	// StartTime is when the process started.
	StartTime(ctx context.Context, pid int) (time.Time, error)
	// Exe is the path of the program the process runs (/proc/PID/exe):
	// the file the kernel loaded, symbolic links followed, and for a
	// "#!" script its interpreter.
	Exe(ctx context.Context, pid int) (string, error)
	// ExecFn is the file name the process's last execve was given
	// (AT_EXECFN): for a "#!" script, the script. It is read from the
	// process's memory, which the process can overwrite.
	ExecFn(ctx context.Context, pid int) (string, error)
	// Resolve returns the file an absolute path leads to on the host once
	// every symbolic link is followed, as execve follows them.
	Resolve(ctx context.Context, path string) (string, error)
	// Head returns the first n bytes of the regular file at path on the
	// host (fewer when it is shorter): what execve reads to choose how
	// to run it.
	Head(ctx context.Context, path string, n int) ([]byte, error)
	// FileSum returns the SHA-256 (hex) of the regular file at path on
	// the host and when its inode last changed (ctime: the kernel sets
	// it on every write, rename or attribute change, and nothing sets it
	// back).
	FileSum(ctx context.Context, path string) (string, time.Time, error)
	// Fencer returns the SHA-256 (hex) of the fencer binary a loader on
	// this host must be: for the local machine, fencer's own executable.
	Fencer(ctx context.Context) (string, error)
}

// Target is a host fencer installs policies on, and every operation plan,
// apply, verify and why do on one: what planning reads (Reader), what
// applying writes and runs, and what verifying inspects (Processes). Paths
// are absolute, clean host paths; a -root host maps them under its
// directory. Every file operation refuses a path with a symbolic link for
// a directory (see WriteFile). See the top of this file for the errors.
type Target interface {
	Reader
	Processes
	// ModTime returns when the file at path was last written (a link in
	// the last component followed, as ReadFile does), for verify's
	// "restart needed" check.
	ModTime(ctx context.Context, path string) (time.Time, error)
	// Lock takes the host's fencer lock (flock on a lock file): it tries
	// once, then waits up to the context's deadline (or until it is
	// cancelled). When it cannot
	// be had the error says who holds it: pid, command and since when,
	// which each holder writes into the lock file, and wraps the
	// context's error. unlock releases it (a second call does nothing);
	// its error names the host.
	Lock(ctx context.Context) (unlock func() error, err error)
	// WriteFile replaces path atomically: a temporary file in the same
	// directory is written, fsynced, given mode (and on a real host in
	// system scope the owner root:root), renamed over path, and the
	// directory fsynced. Missing parent directories are created (0755) and
	// fsynced. Temporary files are named ".fencer-tmp-<name>.<random>" —
	// hidden, and not ending in a unit suffix, so systemd never reads one
	// — and those left by an interrupted write of the same file are
	// removed by the next write. WriteFile refuses a path where an
	// existing directory is a symbolic link (a symlinked drop-in directory
	// is a classic way to redirect writes), naming the link; accepted are
	// only links directly under / (/lib -> usr/lib) and the directories of
	// systemd's unit search path and their parents (Debian links
	// /etc/xdg/systemd/user to ../../systemd/user). On a -root host
	// those must be relative links that stay inside the tree, and so must
	// every further link their targets lead through; links are resolved
	// inside the tree as a chroot would, and the operations are done
	// relative to a directory fd opened without following any link, so
	// nothing outside the tree is ever read or written (see resolve.go).
	WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode) error
	// Remove deletes path (no error when it is already absent) and fsyncs
	// its directory. Directories are left in place.
	Remove(ctx context.Context, path string) error
	// Systemctl runs systemctl for the host's scope (--user in user
	// scope) with args and returns its standard output, also along with
	// an error (is-active and show exit non-zero with useful output); the
	// error carries standard error. It fails without running anything,
	// with an error wrapping ErrNotLive, when the host has no live
	// manager.
	Systemctl(ctx context.Context, args ...string) ([]byte, error)
	// Verify runs `systemd-analyze [--user] verify` on the given units
	// (unit names, which load the unit with its drop-ins, or unit file
	// paths); on failure the error carries systemd-analyze's output. It
	// does not need a running manager.
	Verify(ctx context.Context, units ...string) error
	// Analyze runs systemd-analyze for the host's scope with args (the
	// calls besides verify: unit-paths, syscall-filter, ...) and returns
	// its standard output, also along with an error, which carries
	// standard error.
	Analyze(ctx context.Context, args ...string) ([]byte, error)
}

// Scopes.
const (
	ScopeSystem = "system"
	ScopeUser   = "user"
)

var (
	_ Target = (*LocalHost)(nil)
	_ Target = (*RootHost)(nil)
)
