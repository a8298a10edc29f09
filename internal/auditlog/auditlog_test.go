package auditlog

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// boot is the wall-clock time of boot in the tests' kernel clocks.
var boot = time.Unix(1796651911, 0)

func clock(d time.Duration) time.Time { return boot.Add(d) }

// The same kill, as each place keeps it.
const (
	kmsgLine  = `5,1142,2751242437,-;audit: type=1326 audit(1796654662.302:15221): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=11355 comm="metrics-server" exe="/usr/local/libexec/metrics-server" sig=31 arch=c000003e syscall=1 compat=0 ip=0x433870 code=0x80000000`
	dmesgLine = `[ 2751.242437] audit: type=1326 audit(1796654662.302:15221): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=11355 comm="metrics-server" exe="/usr/local/libexec/metrics-server" sig=31 arch=c000003e syscall=1 compat=0 ip=0x433870 code=0x80000000`
	// auditd, enriched (log_format = ENRICHED) with name_format = hostname.
	auditdLine = "node=web1 type=SECCOMP msg=audit(1796654662.302:15221): auid=4294967295 uid=0 gid=0 ses=4294967295 subj=unconfined pid=11355 comm=\"metrics-server\" exe=\"/usr/local/libexec/metrics-server\" sig=31 arch=c000003e syscall=1 compat=0 ip=0x433870 code=0x80000000\x1dAUID=\"unset\" UID=\"root\" GID=\"root\" ARCH=x86_64 SYSCALL=write"
	// journald's audit transport: MESSAGE without "audit(...): ".
	journalAudit  = `{"__REALTIME_TIMESTAMP":"1796654662302711","_TRANSPORT":"audit","_AUDIT_TYPE":"1326","_AUDIT_TYPE_NAME":"SECCOMP","_AUDIT_ID":"15221","_SOURCE_REALTIME_TIMESTAMP":"1796654662302000","MESSAGE":"SECCOMP auid=4294967295 uid=0 gid=0 ses=4294967295 pid=11355 comm=\"metrics-server\" exe=\"/usr/local/libexec/metrics-server\" sig=31 arch=c000003e syscall=1 compat=0 ip=0x433870 code=0x80000000"}`
	journalKernel = `{"__REALTIME_TIMESTAMP":"1796654662303000","_TRANSPORT":"kernel","MESSAGE":"audit: type=1326 audit(1796654662.302:15221): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=11355 comm=\"metrics-server\" exe=\"/usr/local/libexec/metrics-server\" sig=31 arch=c000003e syscall=1 compat=0 ip=0x433870 code=0x80000000"}`
)

func checkKill(t *testing.T, where string, r *Record) {
	t.Helper()
	want := Record{
		Time: time.Unix(1796654662, 302e6), Serial: 15221, AUID: 4294967295, UID: 0, GID: 0, Ses: 4294967295,
		PID: 11355, Comm: "metrics-server", Exe: "/usr/local/libexec/metrics-server",
		Sig: 31, Arch: 0xc000003e, Syscall: 1, IP: 0x433870, Code: 0x80000000,
	}
	got := *r
	got.Source, got.Line, got.Subj = "", "", ""
	if !got.Time.Equal(want.Time) {
		t.Errorf("%s: time %v, want %v", where, got.Time, want.Time)
	}
	got.Time = want.Time
	if got != want {
		t.Errorf("%s:\n got %+v\nwant %+v", where, got, want)
	}
	if id := r.ID(); id != "1796654662.302:15221" {
		t.Errorf("%s: ID %q", where, id)
	}
}

func TestEachSource(t *testing.T) {
	for _, c := range []struct{ name, text string }{
		{"kmsg", kmsgLine},
		{"dmesg", dmesgLine},
		{"auditd", auditdLine},
	} {
		res, err := ScanText(strings.NewReader(c.text+"\n"), c.name, clock)
		if err != nil || len(res.Records) != 1 {
			t.Fatalf("%s: %v, %d records", c.name, err, len(res.Records))
		}
		checkKill(t, c.name, res.Records[0])
		if res.Records[0].Source != c.name {
			t.Errorf("%s: source %q", c.name, res.Records[0].Source)
		}
	}
	if res, _ := ScanText(strings.NewReader(auditdLine), "auditd", nil); res.Records[0].Subj != "unconfined" {
		t.Errorf("subj %q", res.Records[0].Subj)
	}
	for _, c := range []struct{ name, text string }{
		{"journal audit", journalAudit},
		{"journal kernel", journalKernel},
	} {
		res, err := ScanJournal(strings.NewReader(c.text+"\n"), "journal")
		if err != nil || len(res.Records) != 1 {
			t.Fatalf("%s: %v, %d records", c.name, err, len(res.Records))
		}
		checkKill(t, c.name, res.Records[0])
	}
}

// TestKernelLog: records among other kernel messages, the rate limit's
// and the backlog's signs of loss with their times, continuation lines and
// garbage, a record the kernel cut short.
func TestKernelLog(t *testing.T) {
	log := strings.Join([]string{
		`6,78,137201,-;printk: log buffer data + meta data: 131072 + 458752 = 589824 bytes`,
		` SUBSYSTEM=pci`,
		` DEVICE=+pci:0000:00:01.0`,
		`4,1108,2724378572,-;kauditd_printk_skb: 1224 callbacks suppressed`,
		kmsgLine,
		`5,1143,2751300000,-;audit: type=1326 audit(1796654662.360:15222): auid=4294967295 uid=1000 gid=1000 ses=3 pid=11400 comm=6D7920736572766572 exe=2F6F70742F6D7920617070732F736572766572 sig=0 arch=40000003 syscall=4 compat=1 ip=0xf7f4c549 code=0x7ffc0000`,
		`5,1144,2751400000,-;audit: type=1326 audit(1796654662.460:15223): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=2 comm="kthreadd" exe=(null) sig=31 arch=c000003e syscall=1073741863 compat=0 ip=0x1 code=0x0`,
		// printk cut this one short: no arch, syscall nor code.
		`5,1145,2751500000,-;audit: type=1326 audit(1796654662.560:15224): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=11500 comm="x" exe="/` + strings.Repeat("a", 900),
		`4,1146,2760000000,-;audit: audit_lost=17 audit_rate_limit=0 audit_backlog_limit=64`,
		`garbage type=1326 audit(nonsense`,
		`5,1147,2761000000,-;audit: type=1326 audit(1796654662.x:1): pid=1 arch=c000003e syscall=1 code=0x0`,
		`\x00\xff binary junk`,
		`4,1148,2770000000,-;kauditd_printk_skb: many callbacks suppressed`,
		`5,1149,2771000000,-;audit: type=1300 audit(1796654662.660:15225): arch=c000003e syscall=59 success=yes`,
	}, "\n")
	res, err := ScanText(strings.NewReader(log), "/dev/kmsg", clock)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 3 {
		t.Fatalf("%d records, want 3: %+v", len(res.Records), res.Records)
	}
	checkKill(t, "first", res.Records[0])
	// Hex-encoded untrusted strings, a compat call, the log action.
	r := res.Records[1]
	if r.Comm != "my server" || r.Exe != "/opt/my apps/server" || r.Arch != 0x40000003 || !r.Compat || r.Syscall != 4 || r.Code != 0x7ffc0000 || r.Sig != 0 || r.UID != 1000 {
		t.Errorf("second record: %+v", r)
	}
	// No program, an x32 number, kill_thread's code 0.
	r = res.Records[2]
	if r.Exe != "" || r.Syscall != 1073741863 || r.Code != 0 {
		t.Errorf("third record: %+v", r)
	}
	if res.Truncated != 3 {
		t.Errorf("%d records cut short or malformed, want 3 (the long one, the garbage, the bad time stamp)", res.Truncated)
	}
	if len(res.Losses) != 2 {
		t.Fatalf("losses %+v, want the rate limit's and the backlog's", res.Losses)
	}
	if l := res.Losses[0]; l.Count != 1224 || !l.Time.Equal(boot.Add(2724378572*time.Microsecond)) || l.Text != "kauditd_printk_skb: 1224 callbacks suppressed" {
		t.Errorf("rate limit loss %+v", l)
	}
	if l := res.Losses[1]; l.Count != 17 || !l.Time.Equal(boot.Add(2760*time.Second)) {
		t.Errorf("backlog loss %+v", l)
	}
}

// TestJournal: records and losses among other entries, MESSAGE as an
// array of bytes (the journal's form for values that are not UTF-8),
// entries of other audit types, bad JSON.
func TestJournal(t *testing.T) {
	bytesMsg := func(s string) string {
		var parts []string
		for _, b := range []byte(s) {
			parts = append(parts, fmt.Sprint(b))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	log := strings.Join([]string{
		`{"__REALTIME_TIMESTAMP":"1796654000000000","_TRANSPORT":"kernel","MESSAGE":"Linux version 6.18"}`,
		journalKernel,
		`{"__REALTIME_TIMESTAMP":"1796654662400000","_TRANSPORT":"kernel","MESSAGE":"kauditd_printk_skb: 3 callbacks suppressed"}`,
		`{"__REALTIME_TIMESTAMP":"1796654662500000","_TRANSPORT":"kernel","MESSAGE":` + bytesMsg(`audit: type=1326 audit(1796654662.500:15230): auid=0 uid=0 gid=0 ses=1 pid=12000 comm=6E616D65FF exe="/bin/x" sig=31 arch=c00000b7 syscall=64 compat=0 ip=0x4000 code=0x80000000`) + `}`,
		`{"_TRANSPORT":"audit","_AUDIT_TYPE":"1300","_AUDIT_ID":"15231","_SOURCE_REALTIME_TIMESTAMP":"1796654662600000","MESSAGE":"SYSCALL arch=c000003e syscall=59"}`,
		`{"_TRANSPORT":"audit","_AUDIT_TYPE":"1326","_SOURCE_REALTIME_TIMESTAMP":"1796654662600000","MESSAGE":"SECCOMP pid=1 arch=c000003e syscall=1 code=0x0"}`,
		`{"MESSAGE": [1, 2`,
		`not json at all`,
		journalAudit,
	}, "\n")
	res, err := ScanJournal(strings.NewReader(log), "journal")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 3 {
		t.Fatalf("%d records: %+v", len(res.Records), res.Records)
	}
	checkKill(t, "kernel transport", res.Records[0])
	if r := res.Records[1]; r.Comm != "name\xff" || r.Arch != 0xc00000b7 || r.Syscall != 64 {
		t.Errorf("byte-array message: %+v", r)
	}
	checkKill(t, "audit transport", res.Records[2])
	if res.Truncated != 1 {
		t.Errorf("truncated %d, want 1 (the audit entry without _AUDIT_ID)", res.Truncated)
	}
	if len(res.Losses) != 1 || res.Losses[0].Count != 3 || !res.Losses[0].Time.Equal(time.UnixMicro(1796654662400000)) {
		t.Errorf("losses %+v", res.Losses)
	}
}

// TestLongLines: a line over MaxLine is skipped, counted, and what follows
// is still read.
func TestLongLines(t *testing.T) {
	text := strings.Repeat("x", MaxLine+10) + "\n" + kmsgLine + "\n"
	res, err := ScanText(strings.NewReader(text), "k", nil)
	if err != nil || res.Skipped != 1 || len(res.Records) != 1 {
		t.Fatalf("%v: skipped %d, %d records", err, res.Skipped, len(res.Records))
	}
	// No trailing newline, CRLF.
	res, _ = ScanText(strings.NewReader(dmesgLine+"\r\n"+kmsgLine), "k", nil)
	if len(res.Records) != 2 {
		t.Fatalf("%d records", len(res.Records))
	}
}

func FuzzScanText(f *testing.F) {
	for _, s := range []string{kmsgLine, dmesgLine, auditdLine, "4,1,2,-;kauditd_printk_skb: 5 callbacks suppressed", "type=1326 audit(1.2:3): pid=1 arch=0 syscall=0 code=0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		res, err := ScanText(strings.NewReader(s), "f", clock)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Records {
			if r.PID <= 0 {
				t.Fatalf("record with pid %d", r.PID)
			}
		}
		_, _ = ScanJournal(strings.NewReader(s), "f")
	})
}
