package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/fencer-dev/fencer/plan"
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
// size limits; with "sparse", a file of that size with nothing written:
//
//	mkfile PATH N [sparse]
func cmdMkfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 || (len(args) == 3 && args[2] != "sparse") {
		ts.Fatalf("usage: mkfile PATH N [sparse]")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	if len(args) == 3 {
		f, err := os.Create(ts.MkAbs(args[0]))
		ts.Check(err)
		ts.Check(f.Truncate(int64(n)))
		ts.Check(f.Close())
		return
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = '#'
		if i%64 == 63 {
			b[i] = '\n'
		}
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o644))
}

// cmdTamper edits a saved plan the way someone with write access to the
// file could, keeping it valid JSON of the current format:
//
//	tamper PLANFILE EDIT
//
// EDIT is one of: content (the drop-in's bytes, hash left as is),
// unwrap (the drop-in without the loader, header and hashes made to
// match), cron (a file at /etc/cron.d/evil, hashes matching), mode (the
// drop-in 0777), loader (the hash of another program as the loader's),
// loader-bytes (the loader's recorded with content),
// units (the drop-in restarts ssh.service), restart (apply -restart
// restarts ssh.service), prior (the prior content
// shown differs from its hash), json (the plan as plan -json shows it,
// with text instead of content), takeover (a take-over flag removed).
func cmdTamper(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: tamper PLANFILE EDIT")
	}
	name := ts.MkAbs(args[0])
	b, err := os.ReadFile(name)
	ts.Check(err)
	var p plan.Plan
	ts.Check(json.Unmarshal(b, &p))
	hp := p.Hosts[0]
	role := func(r plan.Role) *plan.Change {
		for _, ch := range hp.Changes {
			if ch.Role == r {
				return ch
			}
		}
		ts.Fatalf("the plan has no %s", r)
		return nil
	}
	rehash := func(ch *plan.Change) {
		sum := sha256.Sum256(ch.Content)
		ch.NewSHA256 = hex.EncodeToString(sum[:])
	}
	// withHeader gives body the header of a file fencer writes, as the
	// drop-in's says.
	withHeader := func(old []byte, body string) []byte {
		first, _, _ := strings.Cut(string(old), "; content sha256:")
		sum := sha256.Sum256([]byte(body))
		return []byte(first + "; content sha256:" + hex.EncodeToString(sum[:]) + ".\n# Do not edit.\n" + body)
	}
	switch args[1] {
	case "content":
		d := role("drop-in")
		d.Content = append(d.Content, "ExecStartPost=/bin/true\n"...)
	case "unwrap":
		d := role("drop-in")
		d.Content = withHeader(d.Content, "[Service]\nExecStart=\nExecStart=/usr/local/libexec/metrics-server\n")
		rehash(d)
	case "cron":
		ch := &plan.Change{Path: "/etc/cron.d/evil", Action: plan.Create, Role: "unit file", Mode: 0o644,
			Content: withHeader(role("drop-in").Content, "* * * * * root /bin/sh -c id\n")}
		rehash(ch)
		hp.Changes = append(hp.Changes, ch)
	case "mode":
		role("drop-in").Mode = 0o777
	case "loader":
		l := role("loader")
		other := []byte("#!/bin/sh\nexec \"$@\"\n")
		sum := sha256.Sum256(other)
		l.NewSHA256, l.Loader.Size = hex.EncodeToString(sum[:]), len(other)
	case "loader-bytes":
		l := role("loader")
		l.Content = []byte("#!/bin/sh\nexec \"$@\"\n")
	case "units":
		d := role("drop-in")
		d.Units = append(d.Units, "ssh.service")
	case "restart":
		hp.Restarts = append(hp.Restarts, plan.Restart{Unit: "ssh.service", Reason: "restart needed: edited"})
	case "prior":
		d := role("drop-in")
		d.Prior = "[Service]\n"
	case "json":
		for _, ch := range hp.Changes {
			if !ch.Binary {
				ch.Text = string(ch.Content)
			}
			ch.Content = nil
		}
	case "takeover":
		for _, ch := range hp.Changes {
			ch.TakeOver, ch.Owner, ch.Original = false, "", ""
		}
		var keep []*plan.Change
		for _, ch := range hp.Changes {
			if ch.Role != plan.RoleOriginal {
				keep = append(keep, ch)
			}
		}
		hp.Changes = keep
	default:
		ts.Fatalf("tamper: unknown edit %q", args[1])
	}
	var out bytes.Buffer
	ts.Check(plan.WriteJSON(&out, &p))
	ts.Check(os.WriteFile(name, out.Bytes(), 0o600))
}
