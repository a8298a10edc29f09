package main

import (
	"flag"
	"io"
	"regexp"
	"testing"
)

// TestHelpListsEveryFlag checks that each command's help documents every
// flag it defines, and defines every flag its help documents.
func TestHelpListsEveryFlag(t *testing.T) {
	documented := regexp.MustCompile(`(?m)^  (-[a-z][a-z0-9-]*)`)
	for _, cmd := range commands {
		fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.Bool("no-color", false, "")
		cmd.setup(fs)
		fs.VisitAll(func(f *flag.Flag) {
			if !regexp.MustCompile(`(?m)^  (.*, )?-` + regexp.QuoteMeta(f.Name) + `\b`).MatchString(cmd.help) {
				t.Errorf("fencer help %s does not document -%s", cmd.name, f.Name)
			}
		})
		for _, m := range documented.FindAllStringSubmatch(cmd.help, -1) {
			if fs.Lookup(m[1][1:]) == nil {
				t.Errorf("fencer help %s documents %s, which it does not define", cmd.name, m[1])
			}
		}
		if !regexp.MustCompile(`\AUsage: fencer `).MatchString(cmd.help) {
			t.Errorf("fencer help %s does not start with a Usage line", cmd.name)
		}
	}
}
