package main

import (
	"os"
	"strconv"
	"syscall"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdMkfifo makes a FIFO, which a reader that does not check would wait
// on for ever:
//
//	mkfifo PATH
func cmdMkfifo(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: mkfifo PATH")
	}
	ts.Check(syscall.Mkfifo(ts.MkAbs(args[0]), 0o644))
}

// cmdMkfile writes a file of N bytes, a comment line repeated, for the
// size limits:
//
//	mkfile PATH N
func cmdMkfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mkfile PATH N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	b := make([]byte, n)
	for i := range b {
		b[i] = '#'
		if i%64 == 63 {
			b[i] = '\n'
		}
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o644))
}
