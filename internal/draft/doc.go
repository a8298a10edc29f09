package draft

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/observe"
)

// doc is the configuration Write builds before it renders it.
type doc struct {
	a    *arch.Arch
	rec  *observe.Recording
	an   *analysis
	opt  Options
	name string
	unit string

	header []string
	fds    []*fdBlock
	// fdName maps an index into Recording.Fds to its block's name.
	fdName map[int]string
	rules  []*rule
	tests  []*test
	// partCache holds each syscall's argument conditions.
	partCache map[string][]part
}

// fdBlock is one fd block.
type fdBlock struct {
	name     string
	attr     string
	value    string // quoted for a string binding
	comments []string
}

// rule is one rule block.
type rule struct {
	name     string
	comments []string
	syscalls []string
	when     string
	action   string // "" for allow
}

// test is one test block.
type test struct {
	name    string
	comment string
	syscall string
	args    []string
	expect  string
}

// build fills d from the analysis.
func (d *doc) build() {
	d.buildHeader()
	d.buildFds()
	d.buildRules()
	d.buildTests()
}

// buildHeader writes what the recording was.
func (d *doc) buildHeader() {
	rec := d.rec
	d.header = append(d.header, d.opt.Header...)
	if len(d.opt.Header) > 0 {
		d.header = append(d.header, "")
	}
	what := "the command " + shellWords(rec.Command)
	if len(rec.Command) == 0 {
		what = "a program"
	}
	if rec.Unit != "" {
		what = "the unit " + rec.Unit
		if len(rec.Command) > 0 {
			what += " (" + shellWords(rec.Command) + ")"
		}
	}
	d.header = append(d.header,
		fmt.Sprintf("A policy drafted by fencer from a recording of %s on %s:", what, d.a.Name),
		fmt.Sprintf("%s in %s, %s, over %s; %s.",
			plural(len(rec.Calls), "call"), plural(countProcs(rec), "process"), plural(countThreads(rec), "thread"),
			rec.Elapsed.Round(1e6), endWords(rec)),
	)
	var omitted int64
	for _, n := range rec.Omitted {
		omitted += n
	}
	if omitted > 0 {
		d.header = append(d.header, fmt.Sprintf("The recorder counted %d more calls without keeping them: like those it kept.", omitted))
	}
	if d.an.boundary < len(rec.Calls) {
		d.header = append(d.header, fmt.Sprintf("Start-up: the %s before %s (at %s); the rest is the steady state.",
			plural(d.an.boundary, "call"), d.an.why, rec.Calls[d.an.boundary].Start.Round(1e6)))
	} else {
		d.header = append(d.header, "The program never waited for work: every call is start-up.")
	}
	if d.an.foreign > 0 {
		d.header = append(d.header, fmt.Sprintf("WARNING: %s went through another architecture's entry point: every fencer filter kills those.",
			plural(d.an.foreign, "call")))
	}
	if len(d.an.unnamed) > 0 {
		var nrs []int
		for nr := range d.an.unnamed {
			nrs = append(nrs, nr)
		}
		sort.Ints(nrs)
		d.header = append(d.header, fmt.Sprintf("WARNING: syscall numbers fencer has no name for on %s, which the policy kills: %s.",
			d.a.Name, joinInts(nrs)))
	}
	d.header = append(d.header,
		"Every rule allows what the recording saw; review the rules and the tests below before you apply it:",
		"a path the program did not take while it was recorded is not in it.")
}

// shellWords writes a command as a shell would read it back: words with
// anything but letters, digits and -_./=:,+@% in single quotes.
func shellWords(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		plain := w != ""
		for _, r := range w {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r)) {
				plain = false
				break
			}
		}
		if plain {
			out[i] = w
		} else {
			out[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

func endWords(rec *observe.Recording) string {
	switch rec.Ended {
	case observe.Exited:
		return fmt.Sprintf("the program exited with status %d", rec.ExitStatus)
	case observe.Killed:
		return fmt.Sprintf("the program was killed by signal %d", rec.ExitStatus)
	case observe.Timeout:
		return "the recording's time ran out"
	default:
		return "the recording was interrupted"
	}
}

func countProcs(rec *observe.Recording) int {
	seen := map[int]bool{}
	for _, c := range rec.Calls {
		seen[c.PID] = true
	}
	return len(seen)
}

func countThreads(rec *observe.Recording) int {
	seen := map[int]bool{}
	for _, c := range rec.Calls {
		seen[c.TID] = true
	}
	return len(seen)
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

// buildFds writes an fd block for each fd the program started with: its
// binding when fencer can give the fd that number with it, else number.
func (d *doc) buildFds() {
	d.fdName = map[int]string{}
	idx := make([]int, len(d.rec.Fds))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(x, y int) bool { return d.rec.Fds[idx[x]].Number < d.rec.Fds[idx[y]].Number })
	used := map[string]bool{}
	numbers := map[int]bool{}
	var n passedCount
	for _, i := range idx {
		fd := d.rec.Fds[i]
		if numbers[fd.Number] || fd.Number < 0 {
			continue
		}
		numbers[fd.Number] = true
		name := unique(identifier(fd.Name), used)
		d.fdName[i] = name
		b := &fdBlock{name: name, attr: "number", value: strconv.Itoa(fd.Number)}
		if fd.Kind != "number" && fd.Kind != "" {
			if why := bindingProblem(fd, n); why != "" {
				b.comments = append(b.comments, fmt.Sprintf("Recorded as %s = %q: %s.", fd.Kind, fd.Value, why))
			} else {
				b.attr, b.value = fd.Kind, hclString(fd.Value)
				switch {
				case strings.HasPrefix(fd.Kind, "listen_"):
					n.sockets++
				case fd.Kind == "open_file":
					n.files++
				}
			}
		}
		b.comments = append(b.comments, d.fdUseComment(i)...)
		d.fds = append(d.fds, b)
	}
}

// unique returns name, or name with a number when used has it, and notes
// it used.
func unique(name string, used map[string]bool) string {
	out := name
	for k := 2; used[out]; k++ {
		out = fmt.Sprintf("%s_%d", name, k)
	}
	used[out] = true
	return out
}

// passedCount counts the fd blocks written with a binding that systemd
// passes (numbered from 3: the sockets in order, then the open files).
type passedCount struct{ sockets, files int }

// bindingProblem says why fd cannot be declared with its binding ("" when
// it can), given the passed fds declared before it (in number order).
func bindingProblem(fd observe.Fd, n passedCount) string {
	want := -1
	switch fd.Kind {
	case "stdin":
		want = 0
	case "stdout":
		want = 1
	case "stderr":
		want = 2
	case "listen_stream", "listen_datagram", "listen_sequential_packet":
		if n.files > 0 {
			return "systemd passes every socket before the open files, and this one comes after one"
		}
		want = 3 + n.sockets
	case "open_file":
		want = 3 + n.sockets + n.files
	default:
		return "fencer knows no such binding"
	}
	if fd.Number != want {
		return fmt.Sprintf("that binding would make it fd %d, it was fd %d", want, fd.Number)
	}
	src := fmt.Sprintf("service \"x\" {\n  unit = \"x.service\"\n  fd \"f\" {\n    %s = %s\n  }\n}\n", fd.Kind, hclString(fd.Value))
	if _, diags := hclspec.Parse(map[string][]byte{"fd.fencer.hcl": []byte(src)}, hclspec.LoadOptions{}); diags.HasErrors() {
		for _, dg := range diags {
			if dg.Severity == 1 && dg.Detail != "" {
				return strings.TrimSuffix(dg.Detail, ".")
			}
		}
		return "fencer does not accept that value"
	}
	return ""
}

// commentWidth is where comment lines wrap.
const commentWidth = 100

// wrap breaks s at spaces into lines of at most width bytes where it
// can.
func wrap(s string, width int) []string {
	var out []string
	for len(s) > width {
		cut := strings.LastIndex(s[:width], " ")
		if cut <= 2 {
			break
		}
		out = append(out, strings.TrimRight(s[:cut], " "))
		s = strings.TrimLeft(s[cut+1:], " ")
	}
	return append(out, s)
}

// hclString quotes s as an HCL string literal, with no interpolation.
func hclString(s string) string {
	q := strconv.Quote(s)
	q = strings.ReplaceAll(q, "${", "$${")
	return strings.ReplaceAll(q, "%{", "%%{")
}

// commentText makes s printable on one comment line.
func commentText(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, s)
}

// render writes d as HCL (hclwrite.Format aligns it afterwards).
func (d *doc) render() string {
	var b strings.Builder
	comment := func(indent string, lines []string) {
		for _, l := range lines {
			if l == "" {
				b.WriteString(indent + "#\n")
				continue
			}
			for _, w := range wrap(commentText(l), commentWidth-len(indent)) {
				b.WriteString(indent + "# " + w + "\n")
			}
		}
	}
	comment("", d.header)
	b.WriteString("\n")
	fmt.Fprintf(&b, "service %s {\n", hclString(d.name))
	fmt.Fprintf(&b, "  unit = %s\n", hclString(d.unit))
	if len(d.opt.Hosts) > 0 {
		fmt.Fprintf(&b, "  hosts = [%s]\n", quoteList(d.opt.Hosts))
	}
	fmt.Fprintf(&b, "  arch = [%s]\n", hclString(d.a.Name))
	b.WriteString("  default_action = kill_process\n")
	for _, f := range d.fds {
		b.WriteString("\n")
		comment("  ", f.comments)
		fmt.Fprintf(&b, "  fd %s {\n    %s = %s\n  }\n", hclString(f.name), f.attr, f.value)
	}
	for _, r := range d.rules {
		b.WriteString("\n")
		comment("  ", r.comments)
		fmt.Fprintf(&b, "  rule %s {\n", hclString(r.name))
		fmt.Fprintf(&b, "    syscalls = [%s]\n", quoteList(r.syscalls))
		if r.when != "" {
			fmt.Fprintf(&b, "    when = %s\n", r.when)
		}
		if r.action != "" {
			fmt.Fprintf(&b, "    action = %s\n", r.action)
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
	for _, t := range d.tests {
		b.WriteString("\n")
		if t.comment != "" {
			comment("", []string{t.comment})
		}
		fmt.Fprintf(&b, "test %s {\n", hclString(t.name))
		fmt.Fprintf(&b, "  service = %s\n", hclString(d.name))
		fmt.Fprintf(&b, "  syscall = %s\n", hclString(t.syscall))
		if len(t.args) > 0 {
			fmt.Fprintf(&b, "  args = [%s]\n", strings.Join(t.args, ", "))
		}
		fmt.Fprintf(&b, "  expect = %s\n", t.expect)
		b.WriteString("}\n")
	}
	return b.String()
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = hclString(x)
	}
	return strings.Join(q, ", ")
}
