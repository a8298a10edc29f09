package unitfile

import (
	"fmt"
)

// Fragment is a unit file or one of its drop-ins, as read from a host.
type Fragment struct {
	// Path is the file's path on the host.
	Path string
	// Data is its content.
	Data []byte
}

// serviceTypes are the Type= values systemd 252 knows.
var serviceTypes = map[string]bool{
	"simple": true, "exec": true, "forking": true, "oneshot": true,
	"dbus": true, "notify": true, "idle": true,
}

// ExecStart returns the effective ExecStart= commands of a service given
// its unit file and drop-ins in the order systemd reads them (Fragments):
// every assignment in [Service] appends its commands, an empty one drops
// those before it. It also returns the effective Type=: the last valid
// assignment (an empty one resets it), else systemd's default — "dbus" when
// BusName= is set, "simple" when there is an ExecStart=, "oneshot"
// otherwise. Like systemd it refuses more than one command unless the type
// is oneshot, and no command when the type is not oneshot.
func ExecStart(fragments []Fragment) (cmds []Command, typ string, err error) {
	var busName string
	for _, fr := range fragments {
		f, err := Parse(fr.Path, fr.Data)
		if err != nil {
			return nil, "", err
		}
		for _, e := range f.Entries {
			if e.Section != "Service" {
				continue
			}
			switch e.Key {
			case "ExecStart":
				if e.Value == "" {
					cmds = nil
					continue
				}
				cs, err := Split(e.Value)
				if err != nil {
					return nil, "", fmt.Errorf("%s:%d: ExecStart=: %w", fr.Path, e.Line, err)
				}
				for i := range cs {
					cs[i].Path, cs[i].Line = fr.Path, e.Line
				}
				cmds = append(cmds, cs...)
			case "Type":
				if e.Value == "" || serviceTypes[e.Value] {
					typ = e.Value
				}
			case "BusName":
				busName = e.Value
			}
		}
	}
	if typ == "" {
		switch {
		case busName != "":
			typ = "dbus"
		case len(cmds) > 0:
			typ = "simple"
		default:
			typ = "oneshot"
		}
	}
	where := ""
	if len(fragments) > 0 {
		where = fragments[0].Path + ": "
	}
	if len(cmds) > 1 && typ != "oneshot" {
		return nil, typ, fmt.Errorf("%sservice has %d ExecStart= commands (%s:%d and %s:%d), which systemd allows only for Type=oneshot, not Type=%s",
			where, len(cmds), cmds[0].Path, cmds[0].Line, cmds[1].Path, cmds[1].Line, typ)
	}
	if len(cmds) == 0 && typ != "oneshot" {
		return nil, typ, fmt.Errorf("%sservice has no ExecStart= (Type=%s)", where, typ)
	}
	return cmds, typ, nil
}

// Commands returns the effective commands of a command-list setting of
// [Service] other than ExecStart= (ExecStartPre=, ExecReload=, ...) given
// the unit file and drop-ins in systemd's order: every assignment appends
// its commands, an empty one drops those before it. A value Split cannot
// read is returned whole as one command (Raw, no Argv), so that callers
// that report commands report it too.
func Commands(fragments []Fragment, key string) ([]Command, error) {
	var cmds []Command
	for _, fr := range fragments {
		f, err := Parse(fr.Path, fr.Data)
		if err != nil {
			return nil, err
		}
		for _, e := range f.Entries {
			if e.Section != "Service" || e.Key != key {
				continue
			}
			if e.Value == "" {
				cmds = nil
				continue
			}
			cs, err := Split(e.Value)
			if err != nil {
				prefixes, _ := splitPrefixes(e.Value)
				cs = []Command{{Prefixes: prefixes, Raw: e.Value[len(prefixes):]}}
			}
			for i := range cs {
				cs[i].Path, cs[i].Line = fr.Path, e.Line
			}
			cmds = append(cmds, cs...)
		}
	}
	return cmds, nil
}
