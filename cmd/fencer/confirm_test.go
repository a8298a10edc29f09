package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestConfirmSpeaksOfItsCommand: without a terminal and -auto-approve,
// apply and destroy each refuse in their own words, and change nothing.
func TestConfirmSpeaksOfItsCommand(t *testing.T) {
	root := t.TempDir()
	example := filepath.Join("..", "..", "examples", "metrics")
	if r := runFencer(t, "apply", "-root="+root, example); r.code != exitError ||
		!strings.Contains(r.stderr, `apply needs a "yes" typed on a terminal`) || strings.Contains(r.stderr, "destroy") {
		t.Fatalf("apply without a terminal: exit %d\n%s", r.code, r.stderr)
	}
	if r := runFencer(t, "apply", "-auto-approve", "-root="+root, example); r.code != exitOK {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	dropin := filepath.Join(root, "etc", "systemd", "system", "metrics.service.d")
	r := runFencer(t, "destroy", "-root="+root, example)
	if r.code != exitError || !strings.Contains(r.stderr, `destroy needs a "yes" typed on a terminal`) ||
		!strings.Contains(r.stderr, "-auto-approve to destroy without asking") || strings.Contains(r.stderr, "apply") {
		t.Fatalf("destroy without a terminal: exit %d\n%s", r.code, r.stderr)
	}
	if !exists(t, dropin) {
		t.Fatalf("destroy refused but removed %s", dropin)
	}
	r = runFencer(t, "destroy", "-auto-approve", "-root="+root, example)
	if r.code != exitOK || !strings.Contains(r.stdout, "Destroy complete!") {
		t.Fatalf("destroy: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// -input=false asks nothing: without -auto-approve it refuses before
	// planning; with it, it applies.
	for _, cmd := range []string{"apply", "destroy"} {
		r := runFencer(t, cmd, "-input=false", "-root="+root, example)
		if r.code != exitError || !strings.Contains(r.stderr, "-input=false: "+cmd+" asks nothing then, so it needs -auto-approve") || r.stdout != "" {
			t.Fatalf("%s -input=false: exit %d\n%s\n%s", cmd, r.code, r.stdout, r.stderr)
		}
	}
	if r := runFencer(t, "plan", "-input=false", "-root="+root, example); r.code != exitOK {
		t.Fatalf("plan -input=false: exit %d\n%s", r.code, r.stderr)
	}
	if r := runFencer(t, "apply", "-input=false", "-auto-approve", "-root="+root, example); r.code != exitOK {
		t.Fatalf("apply -input=false -auto-approve: exit %d\n%s", r.code, r.stderr)
	}
	for _, w := range []prompt{confirmWords(false), confirmWords(true)} {
		if !strings.Contains(w.prompt, "Only 'yes' will be accepted") || !strings.HasSuffix(w.prompt, "Enter a value: ") {
			t.Errorf("prompt %q lacks Terraform's words", w.prompt)
		}
	}
	if d := confirmWords(true); !strings.Contains(d.prompt, "destroy") || d.cancelled != "\nDestroy cancelled." {
		t.Errorf("destroy's prompt %q / %q", d.prompt, d.cancelled)
	}
}
