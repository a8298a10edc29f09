package plan

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/fencer-dev/fencer/hclspec"
	"github.com/fencer-dev/fencer/internal/unitfile"
)

// socketFeed is a socket unit other than fencer's that passes its fds to
// a service: systemd hands a service the fds of every socket unit that
// triggers it, in an order fencer does not control.
type socketFeed struct {
	name  string
	frags []unitfile.Fragment
	// why says how it names the service, with the file that does.
	why string
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
func ownSocket(p Paths, svc *hclspec.Service) string {
	if !hasSockets(svc) {
		return ""
	}
	return path.Join(p.UnitDir, SocketUnit(svc.Unit))
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
func scanSockets(lk *unitfile.Lookup, u *unitfile.Unit, own string) (*socketScan, error) {
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
			scan.shadow = &Override{Path: masked.Path, Problem: fmt.Sprintf(
				"it %s and comes earlier on the unit search path: it masks fencer's socket unit %s, so systemd does not load it and %s cannot start; remove it",
				masked.How, own, u.ID)}
			scan.shadowFiles = []unitfile.Fragment{{Path: masked.Path}}
		case err != nil:
			return nil, fmt.Errorf("looking for socket units: %w", err)
		case su.ID != path.Base(own):
			scan.shadow = &Override{Path: su.Link, Problem: fmt.Sprintf(
				"this link makes %s an alias of %s, so systemd reads %s instead of fencer's %s (and passes its fds to %s); remove it",
				path.Base(own), su.LinkTo, su.Fragments[0].Path, own, u.ID)}
			scan.shadowFiles = su.Fragments
		case su.Fragments[0].Path != own:
			scan.shadow = &Override{Path: su.Fragments[0].Path, Problem: fmt.Sprintf(
				"it has the name of fencer's socket unit and comes earlier on the unit search path: systemd reads it instead of fencer's %s (and passes its fds to %s); remove it",
				own, u.ID)}
			scan.shadowFiles = su.Fragments
		default:
			scan.ownDropIns = su.Fragments[1:]
		}
	}
	seen := map[string]bool{}
	for _, n := range lk.Names(".socket") {
		su, err := lk.Unit(n)
		if errors.Is(err, unitfile.ErrNotFound) || errors.Is(err, unitfile.ErrMasked) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("looking for socket units: %w", err)
		}
		if seen[su.ID] || su.ID == ownID {
			continue
		}
		seen[su.ID] = true
		service, where, accept, err := socketService(su.Fragments, su.ID)
		if err != nil {
			return nil, fmt.Errorf("looking for socket units: %w", err)
		}
		byName := strings.TrimSuffix(su.ID, ".socket") + ".service"
		var why string
		switch {
		case accept:
			// With Accept=yes systemd refuses Service= and the socket
			// starts instances of a template.
			continue
		case names[service]:
			why = fmt.Sprintf("its Service= (%s) names %s", where, service)
			if service != u.ID {
				why += ", an alias of " + u.ID
			}
		case service == "" && names[byName]:
			why = fmt.Sprintf("it has the name of %s and no Service=, so it starts that service", byName)
			if byName != u.ID {
				why += ", an alias of " + u.ID
			}
		default:
			continue
		}
		scan.feeds = append(scan.feeds, socketFeed{name: su.ID, frags: su.Fragments, why: why})
	}
	return scan, nil
}

// socketService returns a socket unit's effective Service= (the last
// assignment systemd accepts: one naming a .service, its specifiers
// expanded for the unit's ID, name) and where it was made, and its
// Accept=.
func socketService(frags []unitfile.Fragment, name string) (service, where string, accept bool, err error) {
	as, err := unitfile.Assignments(frags, "Socket", "Service")
	if err != nil {
		return "", "", false, err
	}
	for _, a := range as {
		if v := expandSpecifiers(a.Value, name); strings.HasSuffix(v, ".service") {
			service, where = v, fmt.Sprintf("%s:%d", a.Path, a.Line)
		}
	}
	accept, err = unitfile.Bool(frags, "Socket", "Accept", false)
	return service, where, accept, err
}

// expandSpecifiers expands the specifiers of a unit's own name in v: %n,
// %N, %p, %i and %%; others stay as written.
func expandSpecifiers(v, unit string) string {
	if !strings.Contains(v, "%") {
		return v
	}
	stem := unit[:strings.LastIndexByte(unit, '.')]
	prefix, instance, _ := strings.Cut(stem, "@")
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '%' || i+1 == len(v) {
			b.WriteByte(v[i])
			continue
		}
		i++
		switch v[i] {
		case 'n':
			b.WriteString(unit)
		case 'N':
			b.WriteString(stem)
		case 'p':
			b.WriteString(prefix)
		case 'i':
			b.WriteString(instance)
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(v[i])
		}
	}
	return b.String()
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
		switch fd.Kind {
		case hclspec.FdListenStream, hclspec.FdListenDatagram, hclspec.FdListenSeqPacket, hclspec.FdOpenFile:
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
				out = append(out, Override{Path: fr.Path, Problem: fmt.Sprintf(
					"line %d sets %s= for fencer's socket unit %s, which changes the fds %s gets, so fencer cannot guarantee the fd numbers of the policy; remove the setting",
					e.Line, e.Key, SocketUnit(svc.Unit), svc.Unit)})
				break
			}
		}
	}
	numbered := numberedFds(svc)
	if len(numbered) == 0 {
		return out, nil
	}
	fd := numbered[0]
	guarantee := fmt.Sprintf("fencer cannot guarantee the fd numbers of the policy (fd %q is to be %d)", fd.Name, fd.Number)
	as, err := unitfile.Assignments(theirs, "Service", "Sockets")
	if err != nil {
		return nil, fmt.Errorf("service %q: %w", svc.Name, err)
	}
	for _, a := range as {
		if a.Value == "" {
			continue // adds nothing; it does not reset the list either
		}
		out = append(out, Override{Path: a.Path, Problem: fmt.Sprintf(
			"line %d sets Sockets=%s: systemd passes the fds of those socket units to %s before fencer's, and no later assignment can remove them (Sockets= adds up; an empty one does not reset it), so %s; remove the setting",
			a.Line, a.Value, svc.Unit, guarantee)})
	}
	for _, f := range scan.feeds {
		out = append(out, Override{Path: f.frags[0].Path, Problem: fmt.Sprintf(
			"this socket unit passes its fds to %s too (%s), so %s; remove it, or point its Service= at another unit",
			svc.Unit, f.why, guarantee)})
	}
	return out, nil
}
