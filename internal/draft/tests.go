package draft

import "fmt"

// buildTests writes a test for each rule (a call it allows) and for the
// obvious forbidden calls.
func (d *doc) buildTests() {
	used := map[string]bool{}
	add := func(t *test) {
		t.name = unique(t.name, used)
		d.tests = append(d.tests, t)
	}
	for _, r := range d.rules {
		s := r.syscalls[0]
		add(&test{name: fmt.Sprintf("%s: %s as recorded", r.name, s), syscall: s, expect: "allow"})
	}
	if d.an.laterExecs() == 0 {
		add(&test{name: "no new programs: the loader's exec is the only one", syscall: "execve", expect: "exec_once"})
	}
	for _, s := range []string{"ptrace", "mount"} {
		if _, seen := d.an.stats[s]; !seen {
			add(&test{name: s + " is refused", syscall: s, expect: "kill_process"})
		}
	}
}
