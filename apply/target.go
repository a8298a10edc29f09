// Package apply reaches the hosts fencer installs policies on: the local
// machine in system or user scope, and a directory tree standing for a host
// (-root=DIR). Each is a Target: the facts and files planning reads
// (plan.Host) plus what applying needs — a lock, atomic writes, systemctl
// and systemd-analyze verify. An SSH host will implement the same
// interface.
package apply

import (
	"context"
	"io/fs"

	"github.com/fencer-dev/fencer/plan"
)

// Target is a host fencer can write to. Paths are absolute, clean host
// paths ("/etc/systemd/system/x.service"); a -root host maps them under its
// directory. Every method refuses a path with a symbolic link for a
// directory (see WriteFile).
type Target interface {
	plan.Host
	// Lock takes the host's fencer lock (flock on a lock file), waiting up
	// to the context's deadline (or until it is cancelled). When it cannot
	// be had the error says who holds it: pid, command and since when,
	// which each holder writes into the lock file. unlock releases it.
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
	// error carries standard error. It fails without running anything
	// when the host has no live manager.
	Systemctl(ctx context.Context, args ...string) ([]byte, error)
	// Verify runs `systemd-analyze [--user] verify` on the given units
	// (unit names, which load the unit with its drop-ins, or unit file
	// paths); on failure the error carries systemd-analyze's output.
	Verify(ctx context.Context, units ...string) error
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
