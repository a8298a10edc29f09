package firedancer

import (
	"os"
	"path/filepath"
	"testing"
)

// TestParamRoles: a parameter compared for equality with fd arguments
// only is an fd; a pid, and the bounds of a range of fds, are variables.
func TestParamRoles(t *testing.T) {
	for file, want := range map[string]map[string]ParamRole{
		"main.seccomppolicy":           {"logfile_fd": RoleFd, "pid_namespace": RoleVar},
		"fd_snapmk_tile.seccomppolicy": {"logfile_fd": RoleFd, "dir_fd": RoleFd, "pool_min_fd": RoleVar, "pool_max_fd": RoleVar},
		"fd_sock_tile.seccomppolicy":   {"logfile_fd": RoleFd, "tx_fd": RoleFd, "rx_fd0": RoleVar, "rx_fd1": RoleVar},
		"fd_bundle_tile.seccomppolicy": {"etc_resolv_conf": RoleFd, "keylog_fd": RoleFd},
	} {
		src, err := os.ReadFile(filepath.Join(corpusDir, file))
		if err != nil {
			t.Fatal(err)
		}
		p, diags := Parse(file, src)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		roles := ParamRoles(p)
		for name, r := range want {
			if roles[name] != r {
				t.Errorf("%s: %s has role %d, want %d", file, name, roles[name], r)
			}
		}
	}
	p, diags := Parse("x.seccomppolicy", []byte("uint a, uint b, uint c\nwrite: (eq (arg 0) a)\nkill: (eq (arg 0) b)\n"))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if r := ParamRoles(p); r["a"] != RoleFd || r["b"] != RoleVar || r["c"] != RoleUnused {
		t.Errorf("roles %v", r)
	}
}
