package plan

import (
	"strings"
	"testing"
	"time"
)

// TestSandboxHidesLoader checks that plan refuses a unit whose sandboxing
// hides the loader or the filter from the service (on the main it
// applied cleanly, verify said in sync, and the service failed with
// 203/EXEC), naming the setting and the path, and accepts the same
// settings where they leave both in view.
func TestSandboxHidesLoader(t *testing.T) {
	for _, tc := range []struct {
		name, loader, unit, dropIn, want string // want "" for no problem
	}{
		{"private tmp", "/tmp/f/fencer", "PrivateTmp=yes\n", "", "PrivateTmp=yes (/lib/systemd/system/m.service:3) hides the loader (/tmp/f/fencer)"},
		{"private tmp, var", "/var/tmp/fencer", "PrivateTmp=true\n", "", "PrivateTmp=true"},
		{"private tmp turned off", "/tmp/f/fencer", "PrivateTmp=yes\n", "PrivateTmp=no\n", ""},
		{"private tmp, loader elsewhere", "/usr/local/bin/fencer", "PrivateTmp=yes\n", "", ""},
		{"dynamic user", "/var/tmp/fencer", "DynamicUser=yes\nPrivateTmp=no\n", "", "DynamicUser=yes (/lib/systemd/system/m.service:3), which implies PrivateTmp=yes, hides the loader"},
		{"protect home", "/root/bin/fencer", "ProtectHome=yes\n", "", "ProtectHome=yes (/lib/systemd/system/m.service:3) hides the loader (/root/bin/fencer)"},
		{"protect home tmpfs", "/home/u/bin/fencer", "ProtectHome=tmpfs\n", "", "ProtectHome=tmpfs"},
		{"protect home run/user", "/run/user/0/fencer", "ProtectHome=yes\n", "", "ProtectHome=yes"},
		{"protect home read-only", "/root/bin/fencer", "ProtectHome=read-only\n", "", ""},
		{"protect home reset", "/root/bin/fencer", "ProtectHome=yes\n", "ProtectHome=\n", ""},
		{"temporary fs", "/usr/local/bin/fencer", "TemporaryFileSystem=/usr/local:ro\n", "", "TemporaryFileSystem=/usr/local:ro (/lib/systemd/system/m.service:3) hides the loader"},
		{"temporary fs, bound back", "/usr/local/bin/fencer", "TemporaryFileSystem=/usr/local:ro\nBindReadOnlyPaths=/usr/local/bin\n", "", ""},
		{"inaccessible filter", "/usr/local/bin/fencer", "InaccessiblePaths=-/etc/fencer\n", "", "InaccessiblePaths=-/etc/fencer (/lib/systemd/system/m.service:3) hides the filter (/etc/fencer/filters/m.service.bpf)"},
		{"inaccessible, reset", "/usr/local/bin/fencer", "InaccessiblePaths=/etc/fencer\n", "InaccessiblePaths=\n", ""},
		{"root directory", "/usr/local/bin/fencer", "RootDirectory=/srv/m\n", "", "RootDirectory=/srv/m (/lib/systemd/system/m.service:3) gives the service a root directory of its own, into which the loader (/usr/local/bin/fencer) is not bound"},
		{"root image", "/usr/local/bin/fencer", "RootImage=/srv/m.raw\n", "", "RootImage=/srv/m.raw"},
		{"root directory with binds", "/usr/local/bin/fencer", "RootDirectory=/srv/m\nBindReadOnlyPaths=/usr/local/bin/fencer /etc/fencer/filters\n", "", ""},
		{"root directory, filter not bound", "/usr/local/bin/fencer", "RootDirectory=/srv/m\nBindReadOnlyPaths=/usr/local/bin\n", "", "into which the filter (/etc/fencer/filters/m.service.bpf) is not bound"},
		{"bind over", "/usr/local/bin/fencer", "BindPaths=/opt/other:/usr/local/bin\n", "", "BindPaths=/opt/other:/usr/local/bin (/lib/systemd/system/m.service:3) puts another host path over the loader"},
		{"bind over, optional source", "/usr/local/bin/fencer", "BindReadOnlyPaths=-/opt/x:/etc/fencer:rbind\n", "", "puts another host path over the filter"},
		{"no exec", "/usr/local/bin/fencer", "NoExecPaths=/usr/local\n", "", "NoExecPaths=/usr/local (/lib/systemd/system/m.service:3) forbids the service to execute the loader (/usr/local/bin/fencer)"},
		{"no exec, exec paths", "/usr/local/bin/fencer", "NoExecPaths=/usr/local\nExecPaths=/usr/local/bin\n", "", ""},
		{"no exec on the filter", "/usr/local/bin/fencer", "NoExecPaths=/etc\n", "", ""},
		// systemd expands specifiers in these paths: those of the
		// system manager's directories (%E is /etc) as it does, the
		// others (%h, a user's home, ...) as any path.
		{"a specifier hides the filter", "/usr/local/bin/fencer", "InaccessiblePaths=-%E/fencer\n", "", "InaccessiblePaths=-%E/fencer (/lib/systemd/system/m.service:3) hides the filter (/etc/fencer/filters/m.service.bpf) from the service"},
		{"a temporary fs at a home", "/root/bin/fencer", "TemporaryFileSystem=%h:ro\n", "", "TemporaryFileSystem=%h:ro (/lib/systemd/system/m.service:3) may hide the loader (/root/bin/fencer) from the service (fencer cannot tell where %h is on the host; write the path out)"},
		{"a bind over the loader with a specifier", "/root/bin/fencer", "BindReadOnlyPaths=/srv/shim:%h/bin/fencer\n", "", "BindReadOnlyPaths=/srv/shim:%h/bin/fencer (/lib/systemd/system/m.service:3) may put another host path over the loader"},
		{"a specifier elsewhere", "/usr/local/bin/fencer", "InaccessiblePaths=%t/m-secret\nTemporaryFileSystem=%S/m\n", "", ""},
		{"the unit's name", "/usr/local/bin/fencer", "InaccessiblePaths=/usr/local/%p\n", "", ""},
		{"an unknown specifier", "/usr/local/bin/fencer", "InaccessiblePaths=%Z/usr/local\n", "", ""},
		// Words are read as systemd reads them: a backslash takes the
		// next character as it is (no C escapes), "\\:" is a colon of
		// the path, and the words before a syntax error count.
		{"a backslash in a hidden path", "/usr/local/bin/fencer", "InaccessiblePaths=/usr/loc\\al\n", "", "InaccessiblePaths=/usr/loc\\al (/lib/systemd/system/m.service:3) hides the loader"},
		{"an escaped colon in a bind source", "/usr/local/bin/fencer", "BindReadOnlyPaths=/srv/a\\:b:/usr/local/bin/fencer\n", "", "puts another host path over the loader"},
		{"words before an unbalanced quote", "/usr/local/bin/fencer", "TemporaryFileSystem=/usr/local \"/x\n", "", "TemporaryFileSystem=/usr/local \"/x (/lib/systemd/system/m.service:3) hides the loader"},
		{"a bind with a bad option", "/usr/local/bin/fencer", "BindReadOnlyPaths=/srv/shim:/usr/local/bin/fencer:bogus\n", "", ""},
		// Extensions and images put other files over their
		// destination: the loader may be another program there.
		{"extension directories over /usr", "/usr/local/bin/fencer", "ExtensionDirectories=/var/lib/ext\n", "", "ExtensionDirectories=/var/lib/ext (/lib/systemd/system/m.service:3) may put a system extension's files over the loader (/usr/local/bin/fencer) for the service, so the service would start through whatever program is there instead of fencer's loader, without the planned filter"},
		{"extension images over /opt", "/opt/fencer/bin/fencer", "ExtensionImages=/var/lib/ext.raw\n", "", "ExtensionImages=/var/lib/ext.raw"},
		{"extension directories, loader elsewhere", "/srv/bin/fencer", "ExtensionDirectories=/var/lib/ext\n", "", ""},
		{"a mount image over the loader", "/usr/local/bin/fencer", "MountImages=/srv/img.raw:/usr/local/bin:ro\n", "", "MountImages=/srv/img.raw:/usr/local/bin:ro (/lib/systemd/system/m.service:3) puts an image's files over the loader"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &memHost{files: map[string][]byte{
				"/lib/systemd/system/m.service": []byte("[Service]\nExecStart=/usr/bin/m\n" + tc.unit),
			}}
			if tc.dropIn != "" {
				h.files["/etc/systemd/system/m.service.d/50-admin.conf"] = []byte("[Service]\n" + tc.dropIn)
			}
			src := `host "local" {
  fencer_path = "` + tc.loader + `"
}
` + vendorConfig
			_, err := makePlan(t, src, h)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v\nwant %q", err, tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), "203/EXEC"):
				t.Errorf("err = %v does not say what would happen", err)
			}
		})
	}
}

// TestSandboxSpecifiersBounded: a path made of a million specifiers
// fencer does not expand is matched in time and memory in proportion to
// it (a regular expression built from it would take seconds, and fail to
// build beyond a few million).
func TestSandboxSpecifiersBounded(t *testing.T) {
	h := &memHost{files: map[string][]byte{
		"/lib/systemd/system/m.service": []byte("[Service]\nExecStart=/usr/bin/m\nInaccessiblePaths=/x" + strings.Repeat("%h", 1<<20) + "/y\n"),
	}}
	began := time.Now()
	_, err := makePlan(t, vendorConfig, h)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("planning took %s", d)
	}
}
