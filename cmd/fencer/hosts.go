package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/sshhost"
	"github.com/fencer-dev/fencer/plan/loader"
)

// loaderHelp documents -loader, for the commands that plan hosts.
const loaderHelp = `  -loader=ARCH=PATH  The fencer binary to install as the loader (and to run
                     as fencer's agent over SSH) on hosts of architecture
                     ARCH, such as -loader=aarch64=fencer-aarch64: checked
                     from its ELF header. Use it once per architecture. This
                     fencer serves its own architecture; for another without
                     -loader, fencer looks for fencer-ARCH in
                     $XDG_DATA_HOME/fencer/loaders (~/.local/share/...) and
                     /usr/local/lib/fencer/loaders, and otherwise that host
                     fails with the command that builds one.
`

// loaderFlag is -loader=ARCH=PATH, repeatable: the binaries of a
// loader.Set.
type loaderFlag struct {
	set   *loader.Set
	given []string
}

func (f *loaderFlag) String() string { return strings.Join(f.given, ",") }

func (f *loaderFlag) Set(v string) error {
	a, path, ok := strings.Cut(v, "=")
	if !ok || a == "" || path == "" {
		return fmt.Errorf("-loader takes ARCH=PATH, such as aarch64=./fencer-aarch64; got %q", v)
	}
	if err := f.loaders().Add(a, path); err != nil {
		return err
	}
	f.given = append(f.given, v)
	return nil
}

// loaders is the set of the running fencer, the -loader binaries and the
// loader directories.
func (f *loaderFlag) loaders() *loader.Set {
	if f.set == nil {
		f.set = loader.NewSet()
	}
	return f.set
}

// target is the transport of a host block: over SSH when it has an
// address (connecting on first use), this machine otherwise.
func (o *planOptions) target(h *hclspec.Host) (host.Target, error) {
	if h.Address == "" {
		return host.Local(h.Name, h.Scope)
	}
	l := sshhost.NewLazy(sshhost.ConfigFor(h, o.loaders.loaders()))
	o.opened = append(o.opened, l)
	return l, nil
}

// connectHosts connects to the hosts reached over SSH, -parallelism at a
// time, before something goes through them one by one (LockAll); a host
// that cannot be reached keeps its error for its calls.
func (o *planOptions) connectHosts() {
	host.Each(len(o.opened), o.parallelism, func(i int) {
		_, _ = o.opened[i].Host(context.Background())
	})
}

// closeHosts closes the SSH connections the command opened.
func (o *planOptions) closeHosts() {
	for _, l := range o.opened {
		l.Close()
	}
	o.opened = nil
}
