package plan

import (
	"fmt"
	"os"
	"testing"
)

func TestDumpLints(t *testing.T) {
	src, _ := os.ReadFile(os.Getenv("LINTSRC"))
	cfg := load(t, string(src))
	var only []string
	if a := os.Getenv("LINTARCH"); a != "" {
		only = []string{a}
	}
	for _, d := range Lint(cfg, only) {
		fmt.Printf("%s\n%s\n%s\n\n", d.Summary, d.Subject, d.Detail)
	}
}
