package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/arch"
	"github.com/fencer-dev/fencer/internal/readlimit"
	"github.com/fencer-dev/fencer/plan/unittext"
)

// MaxFileBytes is the largest plan file fencer reads (apply PLANFILE,
// show PLANFILE): some 6 kB a service, the loader recorded by its hash.
const MaxFileBytes = 256 << 20

// Check refuses what no plan fencer makes can hold, whatever the host: a
// plan file is input like any other, and apply writes what it says as
// root. It checks the file's own consistency — each file's content has
// the hash the plan shows, the prior content shown has the prior hash,
// roles, modes and actions are fencer's, every text file written carries
// the configuration's header — and leaves to apply what depends on the
// host (its paths, facts and files), which apply.CheckPlan checks.
func (p *Plan) Check() error {
	for _, h := range p.Hosts {
		for _, ch := range h.GetChanges() {
			if ch != nil && ch.Text != "" {
				return errors.New("it has the text that `fencer plan -json` shows: that is a plan to read, not a plan file; save a plan with `fencer plan -out=FILE`")
			}
		}
	}
	if prob := hclspec.ConfigIDProblem(p.ConfigID); prob != "" {
		return fmt.Errorf("config_id: %s", prob)
	}
	for _, t := range p.Targets {
		if hasControl(t) || (!strings.HasPrefix(t, "host.") && !strings.HasPrefix(t, "service.")) {
			return fmt.Errorf("target %q is neither host.NAME nor service.NAME", t)
		}
	}
	names := map[string]bool{}
	for _, h := range p.Hosts {
		if h == nil {
			return errors.New("a host is null")
		}
		if h.Name == "" || hasControl(h.Name) || names[h.Name] {
			return fmt.Errorf("host name %q is empty, repeated or has control characters", h.Name)
		}
		names[h.Name] = true
		if err := h.check(p); err != nil {
			return fmt.Errorf("host %q: %w", h.Name, err)
		}
	}
	return nil
}

// GetChanges returns h's changes, none when h is nil.
func (h *HostPlan) GetChanges() []*Change {
	if h == nil {
		return nil
	}
	return h.Changes
}

func (h *HostPlan) check(p *Plan) error {
	if h.Error != "" {
		if len(h.Changes) > 0 {
			return errors.New("a host that could not be planned has changes")
		}
		return nil
	}
	if h.Scope != hclspec.ScopeSystem && h.Scope != hclspec.ScopeUser {
		return fmt.Errorf("scope %q is neither %q nor %q", h.Scope, hclspec.ScopeSystem, hclspec.ScopeUser)
	}
	if a, ok := arch.Lookup(h.Arch); !ok || a.Name != h.Arch {
		return fmt.Errorf("architecture %q is not one fencer knows by that name (%s)", h.Arch, strings.Join(arch.Names(), ", "))
	}
	if h.Root != "" && !cleanAbs(h.Root) {
		return fmt.Errorf("root %q is not a clean absolute path", h.Root)
	}
	if h.FencerPath != "" && !cleanAbs(h.FencerPath) {
		return fmt.Errorf("fencer_path %q is not a clean absolute path", h.FencerPath)
	}
	if err := h.SSH.check(h.Address); err != nil {
		return err
	}
	units := map[string]bool{}
	for _, s := range h.Services {
		if s == nil {
			return errors.New("a service is null")
		}
		if prob := hclspec.ServiceUnitProblem(s.Unit); prob != "" || units[s.Unit] {
			return fmt.Errorf("service unit %q is repeated or not a unit name: %s", s.Unit, prob)
		}
		units[s.Unit] = true
	}
	for _, in := range h.Inputs {
		if hclspec.ServiceUnitProblem(in.Unit) != "" {
			return fmt.Errorf("the inputs name %q, which is not a service unit", in.Unit)
		}
		for _, f := range append(append([]InputFile(nil), in.Fragments...), in.Sockets...) {
			if !cleanAbs(f.Path) || !isSHA256(f.SHA256) {
				return fmt.Errorf("input %q (sha256 %q) is not a clean absolute path with a SHA-256", f.Path, f.SHA256)
			}
		}
	}
	paths := map[string]bool{}
	for _, ch := range h.Changes {
		if ch == nil {
			return errors.New("a change is null")
		}
		if paths[ch.Path] {
			return fmt.Errorf("%s: the plan changes it twice", ch.Path)
		}
		paths[ch.Path] = true
		if err := ch.check(p); err != nil {
			return fmt.Errorf("%s: %w", ch.Path, err)
		}
	}
	return nil
}

func (ch *Change) check(p *Plan) error {
	if !cleanAbs(ch.Path) {
		return errors.New("not a clean absolute path")
	}
	if !ch.Role.Known() {
		return fmt.Errorf("role %q is not one of fencer's files", ch.Role)
	}
	text := ch.Role.Text()
	if ch.Binary == text {
		return fmt.Errorf("a %s is binary: %v, and fencer's is %v", ch.Role, ch.Binary, !text)
	}
	for _, u := range ch.Units {
		if hclspec.ServiceUnitProblem(strings.TrimSuffix(u, ".socket")+".service") != "" || !(strings.HasSuffix(u, ".service") || strings.HasSuffix(u, ".socket")) {
			return fmt.Errorf("it names %q, which is not a service or socket unit", u)
		}
	}
	writes := false
	switch ch.Action {
	case Create, Update, NoOp:
		writes = true
		if err := ch.checkContent(); err != nil {
			return err
		}
	case Delete:
		if ch.Content != nil || ch.NewSHA256 != "" || ch.Loader != nil {
			return errors.New("a deletion has content")
		}
	default:
		return fmt.Errorf("action %q is not create, update, delete or no-op", ch.Action)
	}
	if ch.Action == Create {
		if ch.PriorSHA256 != "" || ch.PriorSize != 0 || ch.Prior != "" || ch.PriorMode != 0 {
			return errors.New("a file to create has prior content")
		}
	} else {
		if !isSHA256(ch.PriorSHA256) || ch.PriorSize < 0 || ch.PriorMode > 0o7777 {
			return errors.New("the prior file's hash, size or mode is not one")
		}
		// The diff shown is from Prior: it must be what was there.
		if (ch.Binary && ch.Prior != "") || (!ch.Binary && (Hash([]byte(ch.Prior)) != ch.PriorSHA256 || len(ch.Prior) != ch.PriorSize)) {
			return errors.New("the prior content shown is not the one whose hash the plan records: the plan file was edited")
		}
	}
	restoreLike := ch.Restore || ch.Role == RoleOriginal
	switch {
	case restoreLike && ch.Mode&^0o777 != 0:
		return fmt.Errorf("mode %04o has more than permission bits", ch.Mode)
	case !restoreLike && ch.Mode != ch.Role.Mode():
		return fmt.Errorf("mode %04o: fencer writes a %s with mode %04o", ch.Mode, ch.Role, ch.Role.Mode())
	}
	if (ch.TakeOver || ch.Restore) && (!text || ch.Action != Update || ch.TakeOver == ch.Restore || !cleanAbs(ch.Original)) {
		return errors.New("only an update of a text file is a take-over or a restore, with the original's path, and not both")
	}
	if !ch.TakeOver && !ch.Restore && ch.Original != "" {
		return errors.New("it has an original and is neither a take-over nor a restore")
	}
	if ch.Owner != "" && (!ch.TakeOver || hclspec.ConfigIDProblem(ch.Owner) != "" || ch.Owner == p.ConfigID) {
		return fmt.Errorf("owner %q is not another configuration's id on a take-over", ch.Owner)
	}
	if p.Destroy && !(ch.Action == Delete || ch.Restore) {
		return fmt.Errorf("a destroy plan only deletes and puts back files, and this is %s", ch.Action)
	}
	if text && writes && !ch.Restore {
		h, ok := unittext.ParseHeader(ch.Content)
		switch {
		case !ok || !unittext.BodyIntact(ch.Content) || !utf8.Valid(ch.Content):
			return fmt.Errorf("fencer writes a %s with its header, and this one has none (or its body does not have the header's hash)", ch.Role)
		case h.Config != p.ConfigID:
			return fmt.Errorf("its header says configuration %q, and the plan is of configuration %q", h.Config, p.ConfigID)
		}
	}
	return nil
}

// checkContent checks the new content of a file the change writes: it
// has the hash the plan shows, or, for the loader, which the plan records
// by where it was read, its size and hash, there is none.
func (ch *Change) checkContent() error {
	if ch.Role == RoleLoader {
		l := ch.Loader
		if ch.Content != nil || l == nil || hasControl(l.Path) || l.Size <= 0 || !isSHA256(ch.NewSHA256) {
			return errors.New("a plan records the loader by its path, size and SHA-256, without its content")
		}
		return nil
	}
	if ch.Loader != nil {
		return fmt.Errorf("a %s is not the loader", ch.Role)
	}
	if Hash(ch.Content) != ch.NewSHA256 {
		return fmt.Errorf("its content has SHA-256 %s, but the plan shows %s: the plan file was edited", Hash(ch.Content), ch.NewSHA256)
	}
	return nil
}

// cleanAbs reports whether p is an absolute path in its clean form,
// without control characters.
func cleanAbs(p string) bool {
	return path.IsAbs(p) && path.Clean(p) == p && !hasControl(p)
}

// check refuses SSH settings a host block could not have: a saved plan
// reaches its hosts with them, and must not reach further than a
// configuration could (a relative known_hosts file, a become fencer does
// not know). A nil s is checked against its address by apply.
func (s *SSH) check(address string) error {
	if s == nil {
		return nil
	}
	if hclspec.AddressProblem(address) != "" {
		return fmt.Errorf("address %q is not a host name or IP address", address)
	}
	if s.Port < 1 || s.Port > 65535 {
		return fmt.Errorf("ssh port %d is not from 1 to 65535", s.Port)
	}
	if hasControl(s.User) {
		return fmt.Errorf("ssh user %q has control characters", s.User)
	}
	for _, f := range []struct{ name, path string }{{"identity_file", s.IdentityFile}, {"known_hosts_file", s.KnownHostsFile}} {
		if f.path != "" && (hasControl(f.path) || !path.IsAbs(f.path) && !strings.HasPrefix(f.path, "~/")) {
			return fmt.Errorf("ssh %s %q is neither an absolute path nor one under ~/", f.name, f.path)
		}
	}
	if s.Bastion != "" {
		if _, _, _, err := hclspec.ParseBastion(s.Bastion); err != nil || hasControl(s.Bastion) {
			return fmt.Errorf("ssh bastion %q is not [user@]host[:port]", s.Bastion)
		}
	}
	if s.Become != "" && s.Become != hclspec.BecomeSudo {
		return fmt.Errorf("ssh become %q is not %q", s.Become, hclspec.BecomeSudo)
	}
	if s.ConnectTimeout != "" {
		d, err := time.ParseDuration(s.ConnectTimeout)
		if err != nil || d < hclspec.MinConnectTimeout || d > hclspec.MaxConnectTimeout {
			return fmt.Errorf("ssh connect_timeout %q is not a duration from %s to %s", s.ConnectTimeout, hclspec.MinConnectTimeout, hclspec.MaxConnectTimeout)
		}
	}
	return nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// isSHA256 reports whether s is a SHA-256 in lower-case hex.
func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// WriteJSON writes the plan as JSON: the plan file format, which -json
// prints as well.
func WriteJSON(w io.Writer, p *Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	return nil
}

// WriteDisplayJSON writes the plan as -json shows it: the plan file's
// format without the content of binary files (the loader alone is
// megabytes), which the hashes and sizes identify, and with text files'
// new content as text.
func WriteDisplayJSON(w io.Writer, p *Plan) error {
	return WriteJSON(w, Display(p))
}

// Display is a copy of the plan as -json shows it (WriteDisplayJSON).
func Display(p *Plan) *Plan {
	c := *p
	c.Hosts = make([]*HostPlan, len(p.Hosts))
	for i, h := range p.Hosts {
		hc := *h
		hc.Changes = make([]*Change, len(h.Changes))
		for j, ch := range h.Changes {
			cc := *ch
			if !cc.Binary && cc.Content != nil {
				cc.Text = string(cc.Content)
			}
			cc.Content = nil
			hc.Changes[j] = &cc
		}
		c.Hosts[i] = &hc
	}
	return &c
}

// formatVersion refuses a plan file of another format version than this
// fencer's; nil when it has this fencer's, or no version to read.
func formatVersion(b []byte) error {
	var v struct {
		FormatVersion *int `json:"format_version"`
	}
	if json.NewDecoder(bytes.NewReader(b)).Decode(&v) != nil || v.FormatVersion == nil || *v.FormatVersion == FormatVersion {
		return nil
	}
	if *v.FormatVersion > FormatVersion {
		return fmt.Errorf("plan file format version %d is a newer fencer's; this fencer reads version %d: apply it with the fencer that made it, or make a new plan with this fencer (fencer plan -out=FILE)", *v.FormatVersion, FormatVersion)
	}
	return fmt.Errorf("plan file format version %d is an older fencer's; this fencer reads version %d: make a new plan with this fencer (fencer plan -out=FILE)", *v.FormatVersion, FormatVersion)
}

// ReadJSON reads a plan file: at most MaxFileBytes of one JSON object of
// this format version, holding nothing a plan fencer makes could not
// (Check); anything else is refused.
func ReadJSON(r io.Reader) (*Plan, error) {
	b, err := readlimit.All(r, "the plan file", MaxFileBytes, "a plan file")
	if err != nil {
		return nil, fmt.Errorf("read plan file: %w", err)
	}
	var p Plan
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		// A plan of another version may not decode as this one: say so.
		if verr := formatVersion(b); verr != nil {
			return nil, verr
		}
		return nil, fmt.Errorf("read plan file: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("read plan file: there is more after the plan")
	}
	if err := formatVersion(b); err != nil {
		return nil, err
	}
	if err := p.Check(); err != nil {
		return nil, fmt.Errorf("plan file: %w; fencer does not apply or show it", err)
	}
	return &p, nil
}
