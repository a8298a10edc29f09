package plan

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/host"
	"github.com/fencer-dev/fencer/internal/unitfile"
	"github.com/fencer-dev/fencer/plan/unittext"
)

// socketFeed is a socket unit other than fencer's that passes its fds to
// a service: systemd hands a service the fds of every socket unit that
// triggers it, in an order fencer does not control.
type socketFeed struct {
	name  string
	frags []unitfile.Fragment
	// feed says how it names the service, with the file that does.
	feed *Feed
}

// socketScan is what the unit search path's socket units do to a service.
type socketScan struct {
	feeds []socketFeed
	// ownDropIns are the drop-ins of fencer's own socket unit.
	ownDropIns []unitfile.Fragment
	// shadow, when set, says what systemd loads for the name of fencer's
	// socket unit instead of fencer's file; shadowFiles are its files (a
	// mask, or the unit file and drop-ins systemd reads instead).
	shadow      *Override
	shadowFiles []unitfile.Fragment
}

// ownSocket returns the path of the socket unit fencer writes for unit
// on the host, "" when it writes none.
func ownSocket(p host.Paths, svc *hclspec.Service) string {
	if !unittext.HasSockets(svc) {
		return ""
	}
	return path.Join(p.UnitDir, unittext.SocketUnit(svc.Unit))
}

// scanSockets finds the socket units on the host's unit search path (lk,
// with fencer's files standing in) that pass fds to the service unit u:
// each socket unit systemd loads (by its ID, with the drop-ins of all its
// names), whose Service= names one of u's names, or whose ID has the name
// of one of them and that has neither Service= nor Accept=yes (a socket
// activates the service of its own name by default; with Accept=yes,
// instances of the template of its name, and systemd refuses to load it
// with Service=). own is fencer's socket unit for the service ("" for
// none): systemd must load that file for its name, or the scan records
// what it loads instead (shadow); it is no feed, but its drop-ins, those
// of its aliases included, are returned.
func scanSockets(lk *hostUnits, u *unitfile.Unit, own string) (*socketScan, error) {
	scan := &socketScan{}
	names := map[string]bool{}
	for _, n := range u.Names {
		names[n] = true
	}
	ownID := ""
	if own != "" {
		su, err := lk.Unit(path.Base(own))
		// What systemd loads for the name is reported here, not as
		// one more socket unit below.
		ownID = path.Base(own)
		if su != nil {
			ownID = su.ID
		}
		var masked *unitfile.MaskedError
		switch {
		case errors.As(err, &masked):
			scan.shadow = &Override{Kind: OverrideSocketMasked, Path: masked.Path, LinkTo: masked.Target, Own: own, Unit: u.ID}
			scan.shadowFiles = []unitfile.Fragment{{Path: masked.Path}}
		case err != nil:
			return nil, fmt.Errorf("looking for socket units: %w", err)
		case su.ID != path.Base(own):
			scan.shadow = &Override{Kind: OverrideSocketAlias, Path: su.Link, LinkTo: su.LinkTo, Reads: su.Fragments[0].Path, Own: own, Unit: u.ID}
			scan.shadowFiles = su.Fragments
		case su.Fragments[0].Path != own:
			scan.shadow = &Override{Kind: OverrideSocketShadowed, Path: su.Fragments[0].Path, Own: own, Unit: u.ID}
			scan.shadowFiles = su.Fragments
		default:
			scan.ownDropIns = su.Fragments[1:]
		}
	}
	for _, s := range lk.socketUnits() {
		if s.unit != nil && s.unit.ID == ownID {
			continue
		}
		if s.err != nil {
			return nil, fmt.Errorf("looking for socket units: %w", s.err)
		}
		feed := s.target.feeds(names, u.ID)
		if feed == nil {
			continue
		}
		scan.feeds = append(scan.feeds, socketFeed{name: s.unit.ID, frags: s.unit.Fragments, feed: feed})
	}
	return scan, nil
}

// hostUnits is a host's unit search path, and its socket units, read once
// for all the services of the host (each service is checked against every
// socket unit).
type hostUnits struct {
	*unitfile.Lookup
	sockets []hostSocket
	read    bool
}

// hostSocket is a socket unit systemd loads, and what it triggers; or
// the error reading it (err, with unit nil when the unit could not be
// loaded at all).
type hostSocket struct {
	unit   *unitfile.Unit
	target *socketTarget
	err    error
}

// socketUnits returns each socket unit systemd loads, by its ID (with the
// drop-ins of all its names), once; reading stops at the first that
// cannot be loaded.
func (lk *hostUnits) socketUnits() []hostSocket {
	if lk.read {
		return lk.sockets
	}
	lk.read = true
	seen := map[string]bool{}
	for _, n := range lk.Names(".socket") {
		su, err := lk.Unit(n)
		if errors.Is(err, unitfile.ErrNotFound) || errors.Is(err, unitfile.ErrMasked) {
			continue
		}
		if err != nil {
			lk.sockets = append(lk.sockets, hostSocket{err: err})
			break
		}
		if seen[su.ID] {
			continue
		}
		seen[su.ID] = true
		target, err := socketService(su.Fragments, su.ID)
		lk.sockets = append(lk.sockets, hostSocket{unit: su, target: target, err: err})
	}
	return lk.sockets
}

// socketTarget is what a socket unit's Service= makes it trigger: the
// service systemd 252 settles on, and the services it may name on some
// host or for some instance, which fencer cannot tell apart.
type socketTarget struct {
	id string
	// accept is Accept=yes: systemd refuses Service= and starts
	// instances of a template per connection.
	accept bool
	// service is the last assignment systemd accepts, with where it was
	// made; "" for none, and then the socket triggers the service of its
	// own name (for a template's instance, that instance).
	service, where string
	// ignored is the value of the last assignment systemd ignores, and
	// ignoredWhere where it is made, for messages.
	ignored, ignoredWhere string
	// maybe are the assignments whose name depends on the host (%H, %u,
	// %m, ...) or, for a template, on the instance: each may be the one
	// systemd settles on, or be ignored.
	maybe []servicePattern
}

// servicePattern is a Service= whose expansion fencer cannot know.
type servicePattern struct {
	value, where string
	re           wildcard
	// host names the host-dependent specifiers; empty when only the
	// instance varies.
	host string
}

// feeds says how the socket unit comes to pass its fds to the service
// whose names are names (id its own), nil when it does not.
func (t *socketTarget) feeds(names map[string]bool, id string) *Feed {
	if t.accept {
		return nil
	}
	aliasOf := func(n string) string {
		if n != id {
			return id
		}
		return ""
	}
	if names[t.service] {
		return &Feed{How: FeedService, Where: t.where, Service: t.service, AliasOf: aliasOf(t.service)}
	}
	if t.service == "" {
		stem, typ := strings.TrimSuffix(t.id, ".socket"), ".service"
		byName := stem + typ
		var re wildcard
		if unitfile.IsTemplate(t.id) {
			// Every instance triggers the service of its own name.
			re = newWildcard(strings.TrimSuffix(stem, "@") + "@" + unknownText + typ)
		}
		for _, n := range slices.Sorted(maps.Keys(names)) {
			if n != byName && (re == nil || !re.match(n)) {
				continue
			}
			f := &Feed{How: FeedName, Service: n, AliasOf: aliasOf(n), Ignored: t.ignored, IgnoredWhere: t.ignoredWhere}
			if re != nil {
				f.How = FeedTemplate
			}
			return f
		}
	}
	for _, m := range t.maybe {
		for _, n := range slices.Sorted(maps.Keys(names)) {
			if m.re.match(n) {
				return &Feed{How: FeedPattern, Where: m.where, Value: m.value, Service: n, AliasOf: aliasOf(n), Socket: t.id, HostSpecifiers: m.host}
			}
		}
	}
	return nil
}

// socketService reads a socket unit's Service= and Accept= the way systemd
// 252 does (config_parse_socket_service): each assignment is expanded with
// unit_name_printf's specifiers for the unit's ID, and systemd keeps it
// only if that works (an unknown specifier fails) and gives the name of a
// service that is no template; otherwise it ignores it with a warning,
// and the assignment before stays in force. An empty assignment does not
// reset it.
func socketService(frags []unitfile.Fragment, id string) (*socketTarget, error) {
	t := &socketTarget{id: id}
	as, err := unitfile.Assignments(frags, "Socket", "Service")
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		where := fmt.Sprintf("%s:%d", a.Path, a.Line)
		v, re, host, ok := expandSpecifiers(a.Value, id)
		switch {
		case !ok:
			t.ignored, t.ignoredWhere = a.Value, where
		case re != nil:
			t.maybe = append(t.maybe, servicePattern{value: a.Value, where: where, re: re, host: host})
		case strings.HasSuffix(v, ".service") && unitfile.CheckName(v) == nil && !unitfile.IsTemplate(v):
			t.service, t.where = v, where
		default:
			t.ignored, t.ignoredWhere = a.Value, where
		}
	}
	t.accept, err = unitfile.Bool(frags, "Socket", "Accept", false)
	return t, err
}

// hostSpecifiers are the specifiers of systemd 252's unit_name_printf
// whose values come from the host (architecture, boot and machine ids,
// host names, os-release fields, kernel release, the manager's user and
// group), which a plan does not know.
const hostSpecifiers = "abABgGHlmMoquUvwW"

// unknownText stands, in what expand returns, for text fencer does not
// know; a unit file cannot hold it (systemd ends a line at a NUL).
const unknownText = "\x00"

// expand expands the specifiers of v as systemd 252 does for the unit
// unit: %n, %N, %p, %i, %j (the prefix's last dash-separated part) and %%
// from the name (for a template, whose instance is any, its instance as
// unknownText), those of known as their values, the specifiers in unknown
// as unknownText (used lists them, "%H, %u"). ok is false when systemd would fail: another
// specifier, or a "%" at the end.
func expand(v, unit string, known map[byte]string, unknown string) (out, used string, ok bool) {
	stem := unit[:strings.LastIndexByte(unit, '.')]
	typ := unit[len(stem):]
	prefix, instance, _ := strings.Cut(stem, "@")
	last := prefix
	if i := strings.LastIndexByte(prefix, '-'); i >= 0 {
		last = prefix[i+1:]
	}
	template := unitfile.IsTemplate(unit)
	if template {
		instance = unknownText
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '%' {
			b.WriteByte(v[i])
			continue
		}
		if i+1 == len(v) {
			return "", "", false
		}
		i++
		c := v[i]
		switch {
		case c == '%':
			b.WriteByte('%')
		case c == 'n':
			b.WriteString(prefix)
			if template || strings.Contains(stem, "@") {
				b.WriteString("@" + instance)
			}
			b.WriteString(typ)
		case c == 'N':
			b.WriteString(prefix)
			if template || strings.Contains(stem, "@") {
				b.WriteString("@" + instance)
			}
		case c == 'p':
			b.WriteString(prefix)
		case c == 'j':
			b.WriteString(last)
		case c == 'i':
			b.WriteString(instance)
		case known[c] != "":
			b.WriteString(known[c])
		case strings.IndexByte(unknown, c) >= 0:
			if !strings.Contains(used, "%"+string(c)) {
				if used != "" {
					used += ", "
				}
				used += "%" + string(c)
			}
			b.WriteString(unknownText)
		default:
			return "", "", false
		}
	}
	return b.String(), used, true
}

// wildcard is a text from expand split at its unknown parts: it matches
// every text those parts can stand for (each any text, "/" included). It
// is matched by hand, not compiled as a regular expression, which a long
// value in a unit file could make slow to build or too large; nil for a
// text without unknown parts.
type wildcard []string

func newWildcard(s string) wildcard {
	if !strings.Contains(s, unknownText) {
		return nil
	}
	return strings.Split(s, unknownText)
}

// match reports whether s is a text w can stand for: it starts with w's
// first part and ends with its last, and has the others in order between.
func (w wildcard) match(s string) bool {
	if !strings.HasPrefix(s, w[0]) {
		return false
	}
	s = s[len(w[0]):]
	last := w[len(w)-1]
	for _, part := range w[1 : len(w)-1] {
		i := strings.Index(s, part)
		if i < 0 {
			return false
		}
		s = s[i+len(part):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}

// expandSpecifiers expands v as systemd 252's unit_name_printf does for the
// unit unit (see expand; the host's specifiers are hostSpecifiers). ok is
// false when systemd would fail. When the result depends on what fencer
// does not know — the host, or for a template the instance — re stands
// for every name it can give and host names the host specifiers used;
// otherwise the result is out.
func expandSpecifiers(v, unit string) (out string, re wildcard, host string, ok bool) {
	out, host, ok = expand(v, unit, nil, hostSpecifiers)
	if !ok || !strings.Contains(out, unknownText) {
		return out, nil, "", ok
	}
	return "", newWildcard(out), host, true
}

// socketInputs are the files of a scan a plan depends on: every file of
// the socket units that feed the service, the drop-ins of fencer's own
// socket unit, and what systemd would read instead of it, in order,
// without those for which written is true.
func socketInputs(scan *socketScan, written func(string) bool) []InputFile {
	var frags []unitfile.Fragment
	for _, f := range scan.feeds {
		frags = append(frags, f.frags...)
	}
	frags = append(frags, scan.ownDropIns...)
	frags = append(frags, scan.shadowFiles...)
	return fragmentInputs(frags, "", written)
}

// numberedFds lists the service's fds whose numbers come from systemd's
// order of the fds it passes: sockets, then open files, from 3 on.
func numberedFds(svc *hclspec.Service) []*hclspec.Fd {
	var out []*hclspec.Fd
	for _, fd := range svc.Fds {
		if fd.Kind.Passed() {
			out = append(out, fd)
		}
	}
	return out
}

// ownSocketKeys are the [Socket] settings of a drop-in for fencer's
// socket unit that change which fds it passes, or to whom.
var ownSocketKeys = map[string]bool{
	"ListenStream": true, "ListenDatagram": true, "ListenSequentialPacket": true, "ListenFIFO": true,
	"ListenSpecial": true, "ListenNetlink": true, "ListenMessageQueue": true, "ListenUSBFunction": true,
	"Accept": true, "Service": true, "FileDescriptorName": true,
}

// checkSockets finds what would pass the service other fds than the plan
// numbers, or in another order: Sockets= in the unit or a drop-in other
// than fencer's (it adds up, and an empty assignment does not reset it),
// another socket unit that triggers the service, and a drop-in of
// fencer's socket unit that changes what it listens on or whom it
// starts. theirs are the unit's fragments without fencer's drop-in.
func checkSockets(svc *hclspec.Service, theirs []unitfile.Fragment, scan *socketScan) ([]Override, error) {
	var out []Override
	if scan.shadow != nil {
		out = append(out, *scan.shadow)
	}
	for _, fr := range scan.ownDropIns {
		f, err := unitfile.Parse(fr.Path, fr.Data)
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", svc.Name, err)
		}
		for _, e := range f.Entries {
			if e.Section == "Socket" && ownSocketKeys[e.Key] {
				o := Override{Kind: OverrideSocketDropIn, Path: fr.Path, Line: e.Line, Setting: e.Key, Unit: svc.Unit}
				out = append(out, o)
				break
			}
		}
	}
	numbered := numberedFds(svc)
	if len(numbered) == 0 {
		return out, nil
	}
	fd := numbered[0]
	as, err := unitfile.Assignments(theirs, "Service", "Sockets")
	if err != nil {
		return nil, fmt.Errorf("service %q: %w", svc.Name, err)
	}
	for _, a := range as {
		if a.Value == "" {
			continue // adds nothing; it does not reset the list either
		}
		o := Override{Kind: OverrideSockets, Path: a.Path, Line: a.Line, Setting: "Sockets", Value: a.Value, Unit: svc.Unit, Fd: fd.Name, FdNumber: fd.Number}
		out = append(out, o)
	}
	for _, f := range scan.feeds {
		o := Override{Kind: OverrideSocketFeeds, Path: f.frags[0].Path, Unit: svc.Unit, Fd: fd.Name, FdNumber: fd.Number, Feed: f.feed}
		out = append(out, o)
	}
	return out, nil
}
