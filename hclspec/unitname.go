package hclspec

import (
	"fmt"
	"strings"

	"github.com/fencer-dev/fencer/internal/spelling"
)

// unitNameMax is the longest unit name systemd accepts (UNIT_NAME_MAX - 1).
const unitNameMax = 255

// unitTypes are systemd's unit suffixes.
var unitTypes = []string{"service", "socket", "target", "device", "mount", "automount", "swap", "timer", "path", "slice", "scope"}

// serviceUnitProblem says what is wrong with name as the name of a service
// unit, following systemd's unit_name_is_valid: [A-Za-z0-9:_.\-@] before
// the suffix, at most 255 characters, a template (foo@.service) or
// instance (foo@bar.service) allowed. It also refuses "..", which would
// be a path. "" means the name is valid.
func serviceUnitProblem(name string) string {
	switch {
	case name == "":
		return "The unit name is empty"
	case strings.Contains(name, "/"):
		return fmt.Sprintf("%q is a path; a unit name is a file name without a directory, such as \"metrics.service\"", name)
	case strings.Contains(name, ".."):
		return fmt.Sprintf("%q contains \"..\", which a unit name cannot", name)
	case len(name) > unitNameMax:
		return fmt.Sprintf("A unit name has at most %d characters, and this one has %d", unitNameMax, len(name))
	}
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return fmt.Sprintf("A unit name ends with its type: write %q", name+".service")
	}
	prefix, suffix := name[:dot], name[dot+1:]
	if suffix != "service" {
		for _, t := range unitTypes {
			if suffix == t {
				return fmt.Sprintf("%q is a %s unit; a service block names a .service unit", name, t)
			}
		}
		if spelling.Nearest(suffix, []string{"service"}) != "" {
			return fmt.Sprintf("%q does not end with \".service\": did you mean %q?", name, prefix+".service")
		}
		return fmt.Sprintf("%q does not end with \".service\": write %q", name, name+".service")
	}
	if prefix == "" {
		return "The name before \".service\" is empty"
	}
	if prefix[0] == '@' {
		return "A unit name cannot start with \"@\""
	}
	for _, c := range prefix {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(":-_.\\@", c)) {
			return fmt.Sprintf("The character %q cannot be in a unit name: only letters, digits and the characters : - _ . \\ @ can", c)
		}
	}
	return ""
}
