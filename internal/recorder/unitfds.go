package recorder

import (
	"fmt"
	"strings"

	"github.com/fencer-dev/fencer/internal/observe"
	"github.com/fencer-dev/fencer/internal/unitfile"
)

// SocketUnit is a socket unit that passes its fds to the recorded
// service, with the files systemd reads for it (plan.UnitFiles finds
// them).
type SocketUnit struct {
	Name      string
	Fragments []unitfile.Fragment
}

// listenKinds are the Listen*= settings of a socket unit, with the fd
// block binding each becomes ("number" for those fencer has none for).
var listenKinds = []struct{ key, kind string }{
	{"ListenStream", "listen_stream"},
	{"ListenDatagram", "listen_datagram"},
	{"ListenSequentialPacket", "listen_sequential_packet"},
	{"ListenFIFO", "number"},
	{"ListenSpecial", "number"},
	{"ListenNetlink", "number"},
	{"ListenMessageQueue", "number"},
	{"ListenUSBFunction", "number"},
}

// UnitFds are the fds a service starts with, from its unit's files and its
// socket units': 0 to 2 from StandardInput=, StandardOutput= and
// StandardError= (systemd's defaults null, journal and inherit when
// unset), then each socket unit's sockets, 3, 4, ... (socket units in the
// order given, each unit's in the order of its Listen*= lines, as systemd
// passes them), named by FileDescriptorName= or the socket unit's name.
func UnitFds(service []unitfile.Fragment, sockets []SocketUnit) ([]observe.Fd, error) {
	var fds []observe.Fd
	for i, s := range []struct{ key, name, def string }{
		{"StandardInput", "stdin", "null"}, {"StandardOutput", "stdout", "journal"}, {"StandardError", "stderr", "inherit"},
	} {
		v, err := lastValue(service, "Service", s.key, s.def)
		if err != nil {
			return nil, err
		}
		fds = append(fds, observe.Fd{Number: i, Name: s.name, Kind: s.name, Value: v})
	}
	used := map[string]int{"stdin": 1, "stdout": 1, "stderr": 1}
	for _, su := range sockets {
		name, err := lastValue(su.Fragments, "Socket", "FileDescriptorName", strings.TrimSuffix(su.Name, ".socket"))
		if err != nil {
			return nil, err
		}
		listens, err := socketListens(su.Fragments)
		if err != nil {
			return nil, err
		}
		for _, l := range listens {
			n := identifier(name)
			if used[n]++; used[n] > 1 {
				n = fmt.Sprintf("%s_%d", n, used[n])
			}
			l.Number, l.Name = len(fds), n
			fds = append(fds, l)
		}
	}
	return fds, nil
}

// socketListens are a socket unit's Listen*= sockets in the order systemd
// reads them (an empty assignment of any of them resets them all).
func socketListens(frags []unitfile.Fragment) ([]observe.Fd, error) {
	var out []observe.Fd
	for _, fr := range frags {
		f, err := unitfile.Parse(fr.Path, fr.Data)
		if err != nil {
			return nil, err
		}
		for _, e := range f.Entries {
			if e.Section != "Socket" {
				continue
			}
			for _, lk := range listenKinds {
				if e.Key != lk.key {
					continue
				}
				if e.Value == "" {
					out = nil
					continue
				}
				fd := observe.Fd{Kind: lk.kind, Value: e.Value}
				if lk.kind == "number" {
					fd.Value = ""
				}
				out = append(out, fd)
			}
		}
	}
	return out, nil
}

// lastValue is the last non-empty assignment of key, def when none (an
// empty one resets it to def).
func lastValue(frags []unitfile.Fragment, section, key, def string) (string, error) {
	as, err := unitfile.Assignments(frags, section, key)
	if err != nil {
		return "", err
	}
	v := def
	for _, a := range as {
		v = a.Value
		if v == "" {
			v = def
		}
	}
	return v, nil
}

// identifier makes a name a valid fd label: letters, digits and
// underscores, not starting with a digit.
func identifier(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_', r >= '0' && r <= '9' && i > 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			b.WriteString("fd_")
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "socket"
	}
	return b.String()
}
