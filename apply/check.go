package apply

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/unitfile"
	"github.com/fencer-dev/fencer/plan"
	"github.com/fencer-dev/fencer/plan/loader"
	"github.com/fencer-dev/fencer/plan/unittext"
)

// PlanError is the error for a host plan that holds what no plan of
// fencer's for that host can: apply refuses it before it writes anything.
type PlanError struct {
	Host string
	Path string // "" for the plan as a whole
	Err  error
}

func (e *PlanError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("host %q: the plan cannot be applied: %v", e.Host, e.Err)
	}
	return fmt.Sprintf("host %q: the plan cannot be applied: %s: %v", e.Host, e.Path, e.Err)
}

func (e *PlanError) Unwrap() error { return e.Err }

// CheckPlan checks a host's plan against the host's facts before anything
// is written: a plan is a file someone may have edited, and apply writes
// it as root. Every file must be one that planning the configuration
// (configID) for this host can produce: at the path its role has for one
// of the plan's service units — the filter in the filter directory, the
// drop-in, socket unit and unit file in the unit directory, the loader
// at the host's fencer_path, the original of a file taken over in the
// originals directory, paired with that take-over or restore — with that
// role's mode and units, a text file with the configuration's header for
// its unit, a filter that is a program for the host's architecture, a
// loader that is the set's binary for the host's architecture (loaders,
// nil for loader.NewSet), and a
// drop-in that runs the service through that loader with that filter.
// Files of units the plan does not plan may only be removed, and only
// with a file of the configuration's for that unit. The file's own
// consistency (hashes, header, actions) is checked by plan.ReadJSON. A
// plan that is not a destroy plan must also record, for each of its
// services, the host files it was computed from (plan.HostPlan.Inputs),
// which Host reads again under the lock.
func CheckPlan(hp *plan.HostPlan, facts *host.Facts, configID string, destroy bool, loaders *loader.Set) error {
	c := &planCheck{hp: hp, ps: facts.Paths, configID: configID, loaders: loaders,
		planned: map[string]*plan.ServicePlan{}, byPath: map[string]*plan.Change{}, places: map[string]plan.Place{}, removed: map[string]bool{}}
	if hp.Arch != facts.Arch || hp.Scope != facts.Scope || hp.Root != facts.Root {
		return c.fail("", "it was made for %s in %s scope (root %q), and the host is %s in %s scope (root %q)", hp.Arch, hp.Scope, hp.Root, facts.Arch, facts.Scope, facts.Root)
	}
	if hclspec.ConfigIDProblem(configID) != "" {
		return c.fail("", "configuration id %q: %s", configID, hclspec.ConfigIDProblem(configID))
	}
	if err := c.services(destroy); err != nil {
		return err
	}
	if err := c.place(); err != nil {
		return err
	}
	for _, ch := range hp.Changes {
		if err := c.change(ch); err != nil {
			return err
		}
	}
	return nil
}

// planCheck checks a host's plan (CheckPlan): each step, a method, adds
// to what the earlier ones found.
type planCheck struct {
	hp       *plan.HostPlan
	ps       host.Paths
	configID string
	loaders  *loader.Set
	// planned are the plan's services by unit; byPath its changes by
	// path, and places what each path is.
	planned map[string]*plan.ServicePlan
	byPath  map[string]*plan.Change
	places  map[string]plan.Place
	// removed are the units some of whose text files the plan removes:
	// a filter may go with them.
	removed map[string]bool
}

// fail is the error for file p of the plan ("" for the plan as a whole).
func (c *planCheck) fail(p string, format string, args ...any) error {
	return &PlanError{Host: c.hp.Name, Path: p, Err: fmt.Errorf(format, args...)}
}

// services checks the plan's services, and what it records of them: the
// files each was made from (but for destroy), the units it restarts.
func (c *planCheck) services(destroy bool) error {
	hp, ps := c.hp, c.ps
	for _, s := range hp.Services {
		if hclspec.ServiceUnitProblem(s.Unit) != "" {
			return c.fail("", "service unit %q is not a unit name", s.Unit)
		}
		// With enforce = "systemd" there is no filter.
		if (s.FilterPath != "" || s.Enforce == hclspec.EnforceExec) && s.FilterPath != plan.RoleFilter.Path(ps, s.Unit) {
			return c.fail("", "service %s: its filter is at %s, which is not %s's", s.Unit, s.FilterPath, plan.RoleFilter.Path(ps, s.Unit))
		}
		c.planned[s.Unit] = s
	}
	inputs := map[string]bool{}
	for _, in := range hp.Inputs {
		if c.planned[in.Unit] == nil || inputs[in.Unit] {
			return c.fail("", "it records the files it was made from for %s, which it does not plan, or twice", in.Unit)
		}
		inputs[in.Unit] = true
	}
	for u := range c.planned {
		if !destroy && !inputs[u] {
			return c.fail("", "it does not record the files it was made from for %s, so apply could not tell whether they changed", u)
		}
	}
	for _, r := range hp.Restarts {
		// apply -restart restarts them: only units of the plan's services.
		if c.planned[r.Unit] == nil {
			return c.fail("", "it restarts %s, which is not a unit of its services", r.Unit)
		}
	}
	return nil
}

// place finds what file of fencer's each change's path is, which must be
// its role.
func (c *planCheck) place() error {
	for _, ch := range c.hp.Changes {
		c.byPath[ch.Path] = ch
	}
	for _, ch := range c.hp.Changes {
		k, ok := plan.FileAt(c.ps, c.hp.FencerPath, ch.Path)
		if !ok || k.Role != ch.Role {
			return c.fail(ch.Path, "no %s of fencer's is at this path on this host (%s)", ch.Role, where(c.ps, c.hp.FencerPath))
		}
		c.places[ch.Path] = k
		if k.Role.Text() && (ch.Action == plan.Delete || ch.Restore) {
			c.removed[k.Unit] = true
		}
	}
	return nil
}

// removes reports whether ch takes its file away: a deletion, or the
// original put back in its place.
func removes(ch *plan.Change) bool { return ch.Action == plan.Delete || ch.Restore }

// change checks one change of the plan.
func (c *planCheck) change(ch *plan.Change) error {
	k := c.places[ch.Path]
	if ch.Role == plan.RoleOriginal {
		return c.original(ch, k)
	}
	if (ch.TakeOver || ch.Restore) && ch.Original != plan.OriginalPath(c.ps, ch.Path) {
		return c.fail(ch.Path, "its original is kept at %s, not at %s", plan.OriginalPath(c.ps, ch.Path), ch.Original)
	}
	if (ch.TakeOver || ch.Restore) && c.byPath[ch.Original] == nil {
		return c.fail(ch.Path, "the plan takes it over or puts it back without its original %s", ch.Original)
	}
	if ch.Role == plan.RoleLoader {
		return c.loader(ch)
	}
	svc := c.planned[k.Unit]
	if svc == nil && !(removes(ch) || (ch.Role == plan.RoleFilter && ch.Action == plan.Delete && c.removed[k.Unit])) {
		return c.fail(ch.Path, "the plan has no service with unit %s, and only removes the files of such a unit", k.Unit)
	}
	if svc == nil && ch.Role == plan.RoleFilter && !c.removed[k.Unit] {
		return c.fail(ch.Path, "the plan removes the filter of %s but none of the configuration's files of that unit", k.Unit)
	}
	if !sameUnits(ch.Units, k.Role.Units(k.Unit)) {
		var alts []string
		for _, w := range k.Role.Units(k.Unit) {
			alts = append(alts, strings.Join(w, " and "))
		}
		return c.fail(ch.Path, "it changes units %s; a %s of %s changes %s", strings.Join(ch.Units, ", "), ch.Role, k.Unit, strings.Join(alts, ", or "))
	}
	if removes(ch) || ch.Action == plan.NoOp {
		return nil
	}
	return c.content(ch, k, svc)
}

// original checks the change of an original: it pairs with the
// take-over that keeps the file, or with the restore that puts it back.
func (c *planCheck) original(ch *plan.Change, k plan.Place) error {
	of := c.byPath[k.Of]
	switch {
	case of == nil && removes(ch):
		// Put back already: Host checks, under the lock, that
		// k.Of is this original again.
	case of == nil:
		return c.fail(ch.Path, "it is the original of %s, which the plan does not change", k.Of)
	case removes(ch) && !(of.Restore && of.Original == ch.Path && of.NewSHA256 == ch.PriorSHA256 && of.Mode == ch.PriorMode):
		return c.fail(ch.Path, "the plan removes this original without putting it back, as it is, at %s", k.Of)
	case !removes(ch) && !(of.TakeOver && of.Original == ch.Path && of.PriorSHA256 == ch.NewSHA256) &&
		// A copy kept from before fencer stays when the file
		// taken over is fencer's (another configuration's).
		!(of.TakeOver && of.Original == ch.Path && ch.Action == plan.NoOp && unittext.Managed([]byte(of.Prior))):
		return c.fail(ch.Path, "the plan keeps here something other than %s as it is", k.Of)
	}
	return nil
}

// loader checks the installation of the loader.
func (c *planCheck) loader(ch *plan.Change) error {
	if ch.Action != plan.Create || len(ch.Units) > 0 {
		return c.fail(ch.Path, "fencer only installs the loader where there is none")
	}
	if _, err := sameLoader(ch, c.loaders, c.hp.Arch); err != nil {
		return c.fail(ch.Path, "%v", err)
	}
	// Its path is the plan's word for fencer_path: only a
	// plan whose service runs the loader installs it.
	if !runsLoader(c.hp, c.planned, c.byPath) {
		return c.fail(ch.Path, "the plan installs the loader, and no drop-in of its services runs it")
	}
	return nil
}

// content checks what a change writes: a filter for the host's
// architecture, a text file with the configuration's header for its
// unit, a drop-in that runs the service as the plan shows.
func (c *planCheck) content(ch *plan.Change, k plan.Place, svc *plan.ServicePlan) error {
	if ch.Role == plan.RoleFilter {
		a, _ := arch.Lookup(c.hp.Arch)
		if _, err := loader.CheckFilter(ch.Content, ch.NewSHA256, a); err != nil {
			return c.fail(ch.Path, "not a filter fencer compiled for %s: %v", c.hp.Arch, err)
		}
		return nil
	}
	h, _ := unittext.ParseHeader(ch.Content)
	if h.Unit != k.Unit || h.Config != c.configID {
		return c.fail(ch.Path, "its header is for unit %q of configuration %q, and this is a %s of %s of configuration %q", h.Unit, h.Config, ch.Role, k.Unit, c.configID)
	}
	if ch.Role == plan.RoleDropIn {
		if err := checkDropIn(ch, svc, c.byPath[svc.FilterPath], c.hp.FencerPath); err != nil {
			return c.fail(ch.Path, "%v", err)
		}
	}
	return nil
}

// where says where fencer's files are on a host, for messages.
func where(ps host.Paths, fencerPath string) string {
	s := fmt.Sprintf("units and drop-ins in %s, filters in %s, originals in %s", ps.UnitDir, ps.FilterDir, ps.OriginalDir)
	if fencerPath != "" {
		s += ", the loader at " + fencerPath
	}
	return s
}

func sameUnits(got []string, want [][]string) bool {
	for _, w := range want {
		if strings.Join(got, " ") == strings.Join(w, " ") {
			return true
		}
	}
	return false
}

// sameLoader returns the fencer binary for the host's architecture
// archName that loaders holds (nil for loader.NewSet), which apply
// installs where the plan installs the loader (ch), once it has checked
// that it is the one the plan was made with: it has the hash the plan
// records.
func sameLoader(ch *plan.Change, loaders *loader.Set, archName string) (*loader.Binary, error) {
	if loaders == nil {
		loaders = loader.NewSet()
	}
	bin, err := loaders.For(archName)
	if err != nil {
		return nil, fmt.Errorf("the plan installs a loader for %s, and this fencer cannot check it: %w", archName, err)
	}
	if want := bin.SHA256(); want != ch.NewSHA256 {
		planned, now := "", ""
		if ch.Loader != nil {
			planned = fmt.Sprintf("%s when the plan was made, ", ch.Loader.Path)
		}
		if bin.Path != "" {
			now = bin.Path + ", "
		}
		return nil, fmt.Errorf("the loader the plan installs (%ssha256 %s) is not the fencer this fencer installs on %s (%ssha256 %s): the binary changed since the plan was made; apply a plan with the fencer (and -loader) that made it, or make the plan again",
			planned, ch.NewSHA256, archName, now, want)
	}
	return bin, nil
}

// runsLoader reports whether a drop-in the plan leaves in place or writes
// runs a service with enforce = "exec" through the loader at the host's
// fencer_path (checkDropIn).
func runsLoader(hp *plan.HostPlan, planned map[string]*plan.ServicePlan, byPath map[string]*plan.Change) bool {
	for _, ch := range hp.Changes {
		if ch.Role != plan.RoleDropIn || ch.Action == plan.Delete || ch.Restore {
			continue
		}
		svc := planned[strings.TrimSuffix(path.Base(path.Dir(ch.Path)), ".d")]
		if svc != nil && svc.Enforce == hclspec.EnforceExec && checkDropIn(ch, svc, byPath[svc.FilterPath], hp.FencerPath) == nil {
			return true
		}
	}
	return false
}

// checkDropIn checks that a drop-in the plan writes runs the service the
// way the plan shows: with enforce = "exec", its ExecStart= runs the
// loader at the host's fencer_path with the service's filter, the one
// the plan installs.
func checkDropIn(ch *plan.Change, svc *plan.ServicePlan, filter *plan.Change, fencerPath string) error {
	if svc.Enforce != hclspec.EnforceExec {
		return nil
	}
	if filter == nil || filter.Role != plan.RoleFilter || filter.NewSHA256 != svc.FilterSHA256 {
		return fmt.Errorf("the service's filter %s (sha256 %s) is not one the plan installs", svc.FilterPath, svc.FilterSHA256)
	}
	cmds, _, err := unitfile.ExecStart([]unitfile.Fragment{{Path: ch.Path, Data: ch.Content}})
	if err != nil {
		return err
	}
	if len(cmds) != 1 || strings.ContainsAny(cmds[0].Prefixes, "+!") || len(cmds[0].Argv) < 2 || cmds[0].Argv[0] != fencerPath || cmds[0].Argv[1] != "exec" {
		return fmt.Errorf("with enforce = \"exec\" its ExecStart= runs %s exec, and this one does not", fencerPath)
	}
	var flags []string
	for _, a := range cmds[0].Argv[2:] {
		if a == "--" {
			break
		}
		flags = append(flags, a)
	}
	sort.Strings(flags)
	for _, want := range []string{"-filter=" + svc.FilterPath, "-sha256=" + svc.FilterSHA256} {
		if i := sort.SearchStrings(flags, want); i == len(flags) || flags[i] != want {
			return fmt.Errorf("its ExecStart= does not run the loader with %s", want)
		}
	}
	return nil
}
