package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"github.com/fencer-dev/fencer/internal/compile"
	"github.com/fencer-dev/fencer/plan/resolve"
)

var showCommand = &command{
	name:     "show",
	synopsis: "Show a saved plan, or a compiled filter disassembled",
	help: `Usage: fencer [global options] show [-json] PLANFILE
       fencer [global options] show -bpf -arch=ARCH [-stats] [options] [DIR] service.NAME

  With PLANFILE, print the plan saved by "fencer plan -out=PLANFILE" as
  plan printed it (or as JSON with -json).

  Compile the filter of service NAME of the configuration in DIR (the
  current directory when omitted) for one architecture, and print it
  disassembled: one classic BPF instruction per line, with its pc, jump
  targets as pcs, and comments naming the seccomp_data fields loaded, the
  syscalls compared with and the actions returned.

Options:

  -bpf               Show the compiled filter (required).

  -arch=ARCH         The architecture to compile for. It may be left out
                     when the service is planned for one architecture only.

  -json              Print the program as a JSON object: the service, the
                     architecture and each instruction's pc, code, jt, jf,
                     k, text and comment.

  -stats             Also print the program's figures before and after
                     fencer's optimizer: its size, the most instructions
                     any call runs, the mean over every syscall number
                     and the mean over the calls the policy allows (as
                     "stats" with -json).

` + noColorHelp + `
` + configOptionsHelp,
	setup: func(fs *flag.FlagSet) func(*cli, []string) int {
		o := &showOptions{}
		o.config.register(fs)
		fs.BoolVar(&o.bpf, "bpf", false, "")
		fs.Var(&o.arch, "arch", "")
		fs.BoolVar(&o.json, "json", false, "")
		fs.BoolVar(&o.stats, "stats", false, "")
		return o.run
	},
}

// showOptions are the flags of show.
type showOptions struct {
	config configFlags
	bpf    bool
	arch   archFlag
	json   bool
	stats  bool
}

// showJSON is show -bpf -json's output.
type showJSON struct {
	Service      string     `json:"service"`
	Arch         string     `json:"arch"`
	Instructions []jsonInsn `json:"instructions"`
	// Stats are the figures before and after the optimizer, with -stats.
	Stats *jsonOptimizer `json:"stats,omitempty"`
}

// jsonInsn is one instruction: its fields as struct sock_filter holds
// them, its disassembly and the disassembler's comment.
type jsonInsn struct {
	PC      int    `json:"pc"`
	Code    uint16 `json:"code"`
	Jt      uint8  `json:"jt"`
	Jf      uint8  `json:"jf"`
	K       uint32 `json:"k"`
	Text    string `json:"text"`
	Comment string `json:"comment,omitempty"`
}

func (o *showOptions) run(c *cli, args []string) int {
	if !o.bpf {
		if len(args) != 1 {
			return c.fail(usagef("usage: fencer show [-json] PLANFILE, or fencer show -bpf -arch=ARCH [DIR] service.NAME"))
		}
		return o.showPlan(c, args[0])
	}
	dir, service, err := dirAndAddress(args)
	if err != nil {
		return c.fail(err)
	}
	compiled := c.loadAndCompile(dir, &o.config, service, o.arch.name)
	if compiled == nil {
		return exitError
	}
	var stats *jsonOptimizer
	var fig compile.Figures
	if o.stats {
		js, f, err := measure(compiled)
		if err != nil {
			return c.fail(err)
		}
		stats, fig = &js, f
	}
	lines := disassemble(compiled)
	if o.json {
		return o.printJSON(c, compiled, lines, stats)
	}
	fmt.Fprintf(c.stdout, "; service.%s on %s: %d %s\n", compiled.Service.Name, compiled.Arch.Name,
		len(compiled.Program), plural(len(compiled.Program), "instruction"))
	if stats != nil {
		printFigures(c.stdout, fig)
	}
	for _, l := range lines {
		fmt.Fprintln(c.stdout, l)
	}
	return exitOK
}

// printJSON prints show -bpf -json's object.
func (o *showOptions) printJSON(c *cli, compiled *resolve.Compiled, lines []string, stats *jsonOptimizer) int {
	out := showJSON{Service: compiled.Service.Name, Arch: compiled.Arch.Name, Instructions: []jsonInsn{}, Stats: stats}
	for pc, in := range compiled.Program {
		text, comment := splitComment(lines[pc])
		out.Instructions = append(out.Instructions, jsonInsn{
			PC: pc, Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K, Text: text, Comment: comment,
		})
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return c.fail(fmt.Errorf("encoding the program as JSON: %w", err))
	}
	fmt.Fprintf(c.stdout, "%s\n", b)
	return exitOK
}

// disassemble returns the program's disassembly, one line per instruction,
// with the notes resolve.Compiled.Disassemble gives.
func disassemble(compiled *resolve.Compiled) []string {
	text := strings.TrimSuffix(compiled.Disassemble(), "\n")
	if text == "" {
		return nil
	}
	return strings.Split(text, "\n")
}

// splitComment splits a disassembly line "0004: ret  #0x7fff0000  ; ALLOW"
// into the instruction without its pc and the comment.
func splitComment(line string) (text, comment string) {
	if _, rest, ok := strings.Cut(line, ": "); ok {
		line = rest
	}
	text, comment, _ = strings.Cut(line, "  ; ")
	return strings.TrimRight(text, " "), comment
}
