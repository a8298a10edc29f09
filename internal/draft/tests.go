package draft

import "fmt"

// buildTests writes tests for both sides of the rules: for each rule, a
// call it allows (the first recorded one, with the values its condition
// looks at), and for each condition a call it refuses; then the obvious
// forbidden calls: a second exec, ptrace, mount.
func (d *doc) buildTests() {
	used := map[string]bool{}
	add := func(t *test) {
		t.name = unique(t.name, used)
		d.tests = append(d.tests, t)
	}
	for _, r := range d.rules {
		s := r.syscalls[0]
		if r.action != "" {
			add(&test{name: fmt.Sprintf("%s: %s gets %s", r.name, s, r.action), syscall: s, expect: r.action})
			continue
		}
		ps := d.parts(s)
		calls := d.callsOf(s)
		var args []string
		switch {
		case len(calls) > 0:
			args = d.testArgs(ps, calls[0])
			add(&test{name: fmt.Sprintf("%s: %s as recorded", r.name, s), syscall: s, args: args, expect: "allow"})
		case samples(ps):
			args = d.testArgs(ps, -1)
			add(&test{name: fmt.Sprintf("%s: %s as the rule allows", r.name, s), syscall: s, args: args, expect: "allow"})
		default:
			continue
		}
		for _, p := range ps {
			if p.deny == "" {
				continue
			}
			denied := append([]string{}, args...)
			denied[p.arg] = p.deny
			what := fmt.Sprintf("%s with %s %s", s, p.what, p.deny)
			if p.what == "fd" {
				what = fmt.Sprintf("%s on %s", s, p.deny)
			}
			add(&test{name: fmt.Sprintf("%s: %s is refused", r.name, what), syscall: s, args: denied, expect: "kill_process"})
		}
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

// testArgs are call i's arguments that the parts look at, written as
// their conditions write them; the others are 0.
func (d *doc) testArgs(ps []part, i int) []string {
	n := 0
	for _, p := range ps {
		if p.arg+1 > n {
			n = p.arg + 1
		}
	}
	args := make([]string, n)
	for k := range args {
		args[k] = "0"
	}
	for _, p := range ps {
		if i < 0 {
			args[p.arg] = p.sample
			continue
		}
		args[p.arg] = p.render(i)
	}
	return args
}

// samples reports whether every part has a sample value.
func samples(ps []part) bool {
	for _, p := range ps {
		if p.sample == "" {
			return false
		}
	}
	return len(ps) > 0
}

// callsOf are the indices of the syscall's recorded calls.
func (d *doc) callsOf(name string) []int {
	if s := d.an.stats[name]; s != nil {
		return s.idx
	}
	return nil
}
