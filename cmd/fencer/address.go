package main

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/spelling"
	"github.com/fencer-dev/fencer/plan/resolve"
)

// parseServiceAddress reads "service.NAME" and returns NAME.
func parseServiceAddress(addr string) (string, error) {
	name, ok := strings.CutPrefix(addr, "service.")
	if !ok || name == "" || strings.ContainsAny(name, ". ") {
		if addr != "" && !strings.Contains(addr, ".") {
			return "", usagef("invalid address %q: services are addressed as service.NAME (service.%s?)", addr, addr)
		}
		return "", usagef("invalid address %q: services are addressed as service.NAME", addr)
	}
	return name, nil
}

// dirAndAddress reads the positional arguments [DIR] service.NAME.
func dirAndAddress(args []string) (dir, service string, err error) {
	switch len(args) {
	case 0:
		return "", "", usagef("missing the service to show: service.NAME")
	case 1:
		dir = "."
	case 2:
		dir = args[0]
	default:
		return "", "", usagef("too many arguments: expected [DIR] service.NAME, got %s", quoteAll(args))
	}
	service, err = parseServiceAddress(args[len(args)-1])
	return dir, service, err
}

// findService returns the named service of cfg, or an error that suggests
// the nearest name.
func findService(cfg *hclspec.Config, name string) (*hclspec.Service, error) {
	var names []string
	for _, svc := range cfg.Services {
		if svc.Name == name {
			return svc, nil
		}
		names = append(names, svc.Name)
	}
	msg := fmt.Sprintf("the configuration has no service.%s", name)
	if s := spelling.Nearest(name, names); s != "" {
		return nil, fmt.Errorf("%s; did you mean service.%s?", msg, s)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s; it declares no service at all", msg)
	}
	return nil, fmt.Errorf("%s; it declares service.%s", msg, strings.Join(names, ", service."))
}

// compileOne compiles one service of cfg for the named architecture, which
// must be one it is planned for; archName may be empty when the service is
// planned for a single architecture.
func compileOne(cfg *hclspec.Config, service, archName string, compile compileFunc) (*resolve.Compiled, hcl.Diagnostics, error) {
	svc, err := findService(cfg, service)
	if err != nil {
		return nil, nil, err
	}
	planned := resolve.Arches(cfg, svc, nil)
	var names []string
	var target *arch.Arch
	for _, a := range planned {
		names = append(names, a.Name)
		if a.Name == archName {
			target = a
		}
	}
	switch {
	case len(planned) == 0:
		return nil, nil, fmt.Errorf("service.%s is planned for no architecture", service)
	case archName == "" && len(planned) == 1:
		target = planned[0]
	case archName == "":
		return nil, nil, usagef("missing -arch: service.%s is planned for %s", service, strings.Join(names, ", "))
	case target == nil:
		return nil, nil, fmt.Errorf("service.%s is not planned for %s; it is planned for %s", service, archName, strings.Join(names, ", "))
	}
	c, diags := compile(svc, target)
	return c, diags, nil
}

// loadAndCompile is what show -bpf and export do first: load the
// configuration in dir and compile one service for one architecture. It
// prints the diagnostics and returns nil after an error, which it has
// reported.
func (c *cli) loadAndCompile(dir string, o *configFlags, service, archName string) *resolve.Compiled {
	return c.loadAndCompileWith(dir, o, service, archName, resolve.Compile)
}

// compileFunc compiles a service for an architecture: resolve.Compile or
// resolve.CompileParametric.
type compileFunc func(*hclspec.Service, *arch.Arch) (*resolve.Compiled, hcl.Diagnostics)

// loadAndCompileWith is loadAndCompile with the compile function given.
func (c *cli) loadAndCompileWith(dir string, o *configFlags, service, archName string, compile compileFunc) *resolve.Compiled {
	cfg, diags := c.load(dir, o)
	src := newSources(cfg)
	if diags.HasErrors() || cfg == nil {
		c.printDiags(src, diags)
		return nil
	}
	compiled, more, err := compileOne(cfg, service, archName, compile)
	diags = append(diags, more...)
	c.printDiags(src, diags)
	if err != nil {
		c.fail(err)
		return nil
	}
	if diags.HasErrors() || compiled == nil {
		return nil
	}
	return compiled
}
