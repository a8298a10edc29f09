//go:build !linux || !cgo

package kernel

import (
	"errors"

	"github.com/fencer-dev/fencer/internal/bpf"
)

var errUnsupported error = envError{errors.New("kernel probes need a linux build with cgo")}

// Load reports whether the kernel accepts the program; here it cannot.
func Load(p bpf.Program) error { return errUnsupported }

// Probe reports the kernel's verdicts for calls under the program; here it
// cannot.
func Probe(p bpf.Program, calls []Call) ([]Verdict, error) { return nil, errUnsupported }

// Supported reports why probes cannot run here.
func Supported() error { return errUnsupported }
