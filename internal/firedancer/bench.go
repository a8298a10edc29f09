package firedancer

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/readlimit"
)

//go:generate go run ./cmd/fdgen -corpus testdata/corpus -out ../../bench/firedancer

// HostsFile is the name of the file of the bench configuration that
// declares its hosts, one per architecture of Arches.
const HostsFile = "hosts.fencer.hcl"

// Arm64Suffix marks a policy's aarch64 variant: NAME_arm64 replaces NAME
// there, and NAME is then for x86_64 only (Firedancer's build picks the
// header with #if defined(__aarch64__)).
const Arm64Suffix = "_arm64"

// Converted is one corpus policy and the architectures it is meant for.
type Converted struct {
	Policy *Policy
	Arches []*arch.Arch
	// Params are the fd numbers its parameters get (ParamNumbers).
	Params map[string]uint64
}

// ReadCorpus parses every *.seccomppolicy of dir (not its
// subdirectories), sorted by name, with the architectures each is for.
func ReadCorpus(dir string) ([]Converted, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.seccomppolicy"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.seccomppolicy in %s", dir)
	}
	sort.Strings(files)
	names := map[string]bool{}
	var out []Converted
	for _, f := range files {
		src, err := readlimit.File(f, MaxSize, "policy")
		if err != nil {
			return nil, err
		}
		p, diags := Parse(f, src)
		if diags.HasErrors() {
			return nil, diags
		}
		names[p.Name] = true
		out = append(out, Converted{Policy: p, Params: ParamNumbers(p)})
	}
	for i := range out {
		out[i].Arches = policyArches(out[i].Policy.Name, names)
	}
	return out, nil
}

// policyArches returns the architectures of Arches policy name is for.
func policyArches(name string, names map[string]bool) []*arch.Arch {
	var out []*arch.Arch
	for _, an := range Arches {
		a, _ := arch.Lookup(an)
		switch {
		case strings.HasSuffix(name, Arm64Suffix) && an != "aarch64":
		case names[name+Arm64Suffix] && an == "aarch64":
		default:
			out = append(out, a)
		}
	}
	return out
}

// BenchFiles returns the bench configuration of the corpus in dir: for
// each policy NAME, NAME.fencer.hcl, and HostsFile; keyed by file name.
func BenchFiles(dir string) (map[string][]byte, error) {
	corpus, err := ReadCorpus(dir)
	if err != nil {
		return nil, err
	}
	paths := sourcePaths(filepath.Join(dir, "SOURCE.md"))
	files := map[string][]byte{HostsFile: hostsFile()}
	for _, c := range corpus {
		var hosts []string
		for _, a := range c.Arches {
			hosts = append(hosts, a.Name)
		}
		from := c.Policy.Name + ".seccomppolicy"
		if p, ok := paths[from]; ok {
			from = p
		}
		src, err := Write(c.Policy, WriteOptions{
			Header: []string{
				fmt.Sprintf("Firedancer's %s (Apache-2.0; the corpus in", from),
				"internal/firedancer/testdata/corpus, see its SOURCE.md) as a fencer configuration,",
				"written by internal/firedancer/cmd/fdgen (go generate ./internal/firedancer): do not edit.",
				"Its parameters are fds numbered 4, 6, 8, ...; allowed calls and the default match",
				"Firedancer's filter (internal/firedancer's tests check every verdict).",
			},
			Hosts:  hosts,
			Arches: c.Arches,
			Params: c.Params,
		})
		if err != nil {
			return nil, err
		}
		files[c.Policy.Name+".fencer.hcl"] = src
	}
	return files, nil
}

func hostsFile() []byte {
	var b strings.Builder
	b.WriteString("# The architectures Firedancer builds its filters for, one host each, so that each\n" +
		"# policy is compiled for those it is meant for (NAME_arm64 replaces NAME on aarch64).\n" +
		"# Written by internal/firedancer/cmd/fdgen: do not edit.\n\n" +
		"fencer {\n  id = \"firedancer\"\n}\n")
	for _, an := range Arches {
		fmt.Fprintf(&b, "\nhost %q {\n  arch = %q\n}\n", an, an)
	}
	return []byte(b.String())
}

var sourceRow = regexp.MustCompile("(?m)^\\| `([^`]+\\.seccomppolicy)` \\| `([^`]+)` \\|")

// sourcePaths reads the corpus's SOURCE.md for each file's path in
// Firedancer's repository; empty when it cannot.
func sourcePaths(path string) map[string]string {
	m := map[string]string{}
	src, err := readlimit.File(path, 1<<20, "corpus description")
	if err != nil {
		return m
	}
	for _, row := range sourceRow.FindAllStringSubmatch(string(src), -1) {
		m[row[1]] = row[2]
	}
	return m
}

// WriteBench writes BenchFiles(corpus) into out, and removes the
// *.fencer.hcl files there it does not write.
func WriteBench(corpus, out string) error {
	files, err := BenchFiles(corpus)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(out, "*.fencer.hcl"))
	for _, f := range old {
		if _, keep := files[filepath.Base(f)]; !keep {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(out, name), src, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}
