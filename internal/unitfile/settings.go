package unitfile

import "strings"

// ParseBool reads a boolean setting as systemd's parse_boolean does: 1,
// yes, y, true, t, on and 0, no, n, false, f, off, in any case. ok is
// false for anything else, which systemd ignores with a warning.
func ParseBool(v string) (b, ok bool) {
	switch strings.ToLower(v) {
	case "1", "yes", "y", "true", "t", "on":
		return true, true
	case "0", "no", "n", "false", "f", "off":
		return false, true
	}
	return false, false
}

// Setting is an assignment of a setting, with where it was made.
type Setting struct {
	Value string
	Path  string
	Line  int
}

// Assignments returns every assignment of key in section across the
// fragments, in the order systemd reads them, empty ones included.
func Assignments(fragments []Fragment, section, key string) ([]Setting, error) {
	var out []Setting
	for _, fr := range fragments {
		f, err := Parse(fr.Path, fr.Data)
		if err != nil {
			return nil, err
		}
		for _, e := range f.Entries {
			if e.Section == section && e.Key == key {
				out = append(out, Setting{Value: e.Value, Path: fr.Path, Line: e.Line})
			}
		}
	}
	return out, nil
}

// Bool returns the effective value of a boolean setting across the
// fragments: the last assignment systemd can parse (it ignores the
// others, the empty one included), else def.
func Bool(fragments []Fragment, section, key string, def bool) (bool, error) {
	as, err := Assignments(fragments, section, key)
	if err != nil {
		return def, err
	}
	v := def
	for _, a := range as {
		if b, ok := ParseBool(a.Value); ok {
			v = b
		}
	}
	return v, nil
}
