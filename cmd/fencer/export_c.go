package main

import (
	"fmt"
	"strings"

	"github.com/fencer-dev/fencer/internal/cfilter"
	"github.com/fencer-dev/fencer/plan/resolve"
)

var _ = registerExportFormat(&exportFormat{
	name: "c",
	help: `A C header in the style of Firedancer's generated policies, for
           programs that install their own filter: the service's fds are
           the parameters (unsigned int NAME_fd, or NAME when it ends in
           _fd, dashes as underscores, in declaration order) of
           static inline void populate_sock_filter_policy_SERVICE(
           size_t out_cnt, struct sock_filter * out, ...), which fills
           out with sock_filter_policy_SERVICE_instr_cnt instructions
           (and aborts when out_cnt is smaller): the program export bpf
           -fd NAME=N writes for the same numbers. The program leaves
           the fd numbers open (no range of neighbouring fds, nothing
           assumed about their values), so it can be longer than the one
           plan installs, and it has no exec-once gate: no loader execs
           the program that installs it. The header is for one architecture: it stops
           with #error when compiled for another, and on a big-endian one
           (s390x) the array holds the big-endian program export bpf
           writes. It needs only linux/filter.h, linux/seccomp.h,
           linux/audit.h and the C standard library (C99 or C++).`,
	write: func(c *cli, o *exportOptions, dir, service string) ([]byte, bool) {
		if len(o.fds.values) > 0 {
			c.fail(usagef("-fd is for export bpf: the C function takes the fd numbers as its arguments"))
			return nil, false
		}
		compiled := c.loadAndCompileWith(dir, &o.config, service, o.arch.name, resolve.CompileParametric)
		if compiled == nil {
			return nil, false
		}
		var fds []string
		for _, fd := range compiled.Service.Fds {
			fds = append(fds, fd.Name)
		}
		args := []string{"fencer export c", "-arch=" + compiled.Arch.Name, "service." + compiled.Service.Name}
		out, err := cfilter.Write(cfilter.Header{
			Service: compiled.Service.Name,
			Arch:    compiled.Arch,
			Program: compiled.Parametric,
			Fds:     fds,
			Command: strings.Join(args, " "),
			Notes:   compiled.Notes(),
		})
		if err != nil {
			c.fail(fmt.Errorf("service.%s on %s: %w", compiled.Service.Name, compiled.Arch.Name, err))
			return nil, false
		}
		return out, true
	},
})
