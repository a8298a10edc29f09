package hclspec

import "testing"

// Every fd kind has its row: an attribute, and but for number a systemd
// setting and a check of its values.
func TestFdKindsTable(t *testing.T) {
	seen := map[string]bool{}
	for k := FdStdin; k <= FdNumber; k++ {
		row := fdKinds[k]
		if row.attr == "" || seen[row.attr] {
			t.Errorf("kind %d: attribute %q is empty or repeated", k, row.attr)
		}
		seen[row.attr] = true
		if bindingKind(row.attr) != k {
			t.Errorf("%s: bindingKind gives %d, want %d", k, bindingKind(row.attr), k)
		}
		if (k == FdNumber) != (row.setting == "" || row.problem == nil) {
			t.Errorf("%s: setting %q, check %v", k, row.setting, row.problem != nil)
		}
		if row.socket && !row.passed {
			t.Errorf("%s: a socket systemd does not pass", k)
		}
	}
	if len(fdKinds) != int(FdNumber)+1 {
		t.Errorf("%d rows for %d kinds", len(fdKinds), FdNumber+1)
	}
}
