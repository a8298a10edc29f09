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

// sshHost reaches a host block with an address over SSH: it connects
// now, and the connection's failure is the host's error. The connection
// is closed by closeHosts.
func (o *planOptions) sshHost(h *hclspec.Host) (host.Target, error) {
	l := sshhost.NewLazy(sshhost.ConfigFor(h, o.loaders.loaders()))
	o.openedMu.Lock()
	o.opened = append(o.opened, l)
	o.openedMu.Unlock()
	if _, err := l.Host(context.Background()); err != nil {
		return nil, err
	}
	return l, nil
}

// closeHosts closes the SSH connections the command opened.
func (o *planOptions) closeHosts() {
	o.openedMu.Lock()
	defer o.openedMu.Unlock()
	for _, l := range o.opened {
		l.Close()
	}
	o.opened = nil
}
