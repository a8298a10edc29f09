package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdSha256env sets an environment variable of the script to the SHA-256
// of a file, in hex, for fencer exec -sha256:
//
//	sha256env VAR FILE
func cmdSha256env(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: sha256env VAR FILE")
	}
	b, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	s := sha256.Sum256(b)
	ts.Setenv(args[0], hex.EncodeToString(s[:]))
}
