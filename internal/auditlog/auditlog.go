// Package auditlog reads the kernel's seccomp audit records (type 1326,
// SECCOMP) from the places Linux and its daemons keep them:
//
//   - the kernel log, as /dev/kmsg gives it ("5,336,150336206,-;audit:
//     type=1326 audit(...): ...") or dmesg prints it ("[ 2324.112016]
//     audit: type=1326 ..."), where the kernel writes audit records when no
//     audit daemon receives them, through a rate limit ("kauditd_printk_skb:
//     N callbacks suppressed");
//   - auditd's log ("type=SECCOMP msg=audit(...): ..."), raw or enriched
//     (interpreted fields after a 0x1d byte), with or without "node=";
//   - the journal, as journalctl -o json prints it: kernel messages
//     (_TRANSPORT=kernel, MESSAGE as in the kernel log) and the audit
//     records journald reads itself (_TRANSPORT=audit, MESSAGE "SECCOMP
//     auid=...", the serial in _AUDIT_ID).
//
// A record carries the process (pid, comm, exe, uid), the syscall number
// and AUDIT_ARCH value, the signal and the filter's verdict (code), and
// when: never the syscall's arguments. Lines that are not seccomp records
// are passed over; those that say records were lost are reported as Loss.
package auditlog

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Type is the audit record type of seccomp records (AUDIT_SECCOMP).
const Type = 1326

// MaxLine is the longest line (or journal entry) Scan reads; longer ones
// are skipped. A kernel log line is at most about 1 kB, an auditd line at
// most 8 kB.
const MaxLine = 1 << 20

// Record is one seccomp audit record.
type Record struct {
	// Time is the record's time stamp (audit(SECONDS.MILLIS:SERIAL)), and
	// Serial its serial number, which with Time identifies it: ID.
	Time   time.Time
	Serial uint64
	// AUID, UID, GID and Ses are the process's audit user, credentials
	// and session; Subj its security context, "" when none is logged.
	AUID, UID, GID, Ses uint32
	Subj                string
	// PID is the process (thread group) ID in the initial PID namespace.
	PID int
	// Comm is the thread's name and Exe the path of the program it runs
	// ("" when the record says "(null)": no program, a kernel thread).
	Comm, Exe string
	// Sig is the signal the kernel sends: 31 (SIGSYS) for the kill
	// actions, 0 for the others.
	Sig int
	// Arch is the AUDIT_ARCH value of the call (seccomp_data.arch) and
	// Syscall its number as the filter saw it; Compat is set for a call
	// made through a compatibility entry (32-bit on a 64-bit kernel).
	Arch    uint32
	Syscall int64
	Compat  bool
	// IP is the address after the syscall instruction.
	IP uint64
	// Code is the filter's return value: SECCOMP_RET_* with its data.
	Code uint32
	// Source says where the record was read: "/dev/kmsg",
	// "/var/log/audit/audit.log", "journal", ...
	Source string
	// Line is the record as read.
	Line string
}

// ID is the record's identity, "SECONDS.MILLIS:SERIAL", the same in every
// place that keeps it.
func (r *Record) ID() string {
	ms := r.Time.UnixMilli()
	return fmt.Sprintf("%d.%03d:%d", ms/1000, ms%1000, r.Serial)
}

// Loss is a sign that records were lost before they reached the log it
// was read from.
type Loss struct {
	// Count is how many were lost (0 when the line does not say).
	Count int
	// Time is when the kernel logged the loss, zero when unknown. The
	// lost records came before it: for the kernel's rate limit, after the
	// last record that was printed.
	Time time.Time
	// Text is the line that says so.
	Text   string
	Source string
}

// Clock turns a kernel log time stamp (microseconds since boot, as
// /dev/kmsg and dmesg print them) into a wall-clock time. Nil means such
// stamps are not converted.
type Clock func(sinceBoot time.Duration) time.Time

// Result is what a scan found.
type Result struct {
	Records []*Record
	Losses  []Loss
	// Truncated counts seccomp records that were cut short (the kernel
	// log truncates long lines) or do not parse, which are not in
	// Records.
	Truncated int
	// Skipped counts lines longer than MaxLine.
	Skipped int
}

// ScanText reads a kernel log (kmsg or dmesg output) or an auditd log,
// one record per line, from r. source names it in the records.
func ScanText(r io.Reader, source string, clock Clock) (*Result, error) {
	res := &Result{}
	err := lines(r, res, func(line string) {
		stamp, msg := kernelStamp(line)
		res.add(msg, line, source, stamp, clock)
	})
	if err != nil {
		return res, fmt.Errorf("read %s: %w", source, err)
	}
	return res, nil
}

// record adds msg, read from line of source, as a seccomp record, or
// counts it as a truncated one; it reports whether it was either.
func (res *Result) record(msg, line, source string) bool {
	rec, ok, truncated := parseRecord(msg)
	switch {
	case ok:
		rec.Source, rec.Line = source, line
		res.Records = append(res.Records, rec)
	case truncated:
		res.Truncated++
	default:
		return false
	}
	return true
}

// add parses one message (without a kernel log prefix) whose kernel time
// stamp, when the log had one, is stamp.
func (res *Result) add(msg, line, source string, stamp time.Duration, clock Clock) {
	if res.record(msg, line, source) {
		return
	}
	if l, ok := parseLoss(msg); ok {
		l.Source, l.Text = source, strings.TrimSpace(msg)
		if stamp >= 0 && clock != nil {
			l.Time = clock(stamp)
		}
		res.Losses = append(res.Losses, l)
	}
}

// lines calls fn with each line of r, skipping (and counting) those longer
// than MaxLine.
func lines(r io.Reader, res *Result, fn func(string)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A long line: gather it up to MaxLine, skip the rest.
			buf := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				if len(buf) <= MaxLine {
					buf = append(buf, line...)
				}
			}
			if len(buf) > MaxLine {
				res.Skipped++
				buf = nil
			}
			line = buf
		}
		if len(line) > 0 {
			fn(strings.TrimRight(string(line), "\r\n"))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// kernelStamp strips a kernel log prefix from line: /dev/kmsg's
// "PRIO,SEQ,USEC,FLAGS;" or dmesg's "[  SEC.USEC] ", and returns the time
// stamp since boot, -1 when there is none.
func kernelStamp(line string) (time.Duration, string) {
	if head, msg, ok := strings.Cut(line, ";"); ok && !strings.ContainsAny(head, " =") {
		if f := strings.Split(head, ","); len(f) >= 4 {
			if us, err := strconv.ParseInt(f[2], 10, 64); err == nil {
				return time.Duration(us) * time.Microsecond, msg
			}
		}
	}
	if rest, ok := strings.CutPrefix(line, "["); ok {
		if stamp, msg, ok := strings.Cut(rest, "]"); ok {
			if sec, frac, ok := strings.Cut(strings.TrimSpace(stamp), "."); ok {
				s, err1 := strconv.ParseInt(sec, 10, 64)
				us, err2 := strconv.ParseInt((frac + "000000")[:6], 10, 64)
				if err1 == nil && err2 == nil {
					return time.Duration(s)*time.Second + time.Duration(us)*time.Microsecond, strings.TrimPrefix(msg, " ")
				}
			}
		}
	}
	return -1, line
}

// parseRecord parses a seccomp record in any of the textual forms: the
// kernel's "audit: type=1326 audit(...): fields" and auditd's
// "[node=N ]type=SECCOMP msg=audit(...): fields[\x1denriched]". truncated
// reports a seccomp record that lacks its last fields.
func parseRecord(msg string) (rec *Record, ok, truncated bool) {
	var rest string
	if i := strings.Index(msg, "type=1326 audit("); i >= 0 {
		rest = msg[i+len("type=1326 audit("):]
	} else if i := strings.Index(msg, "type=SECCOMP msg=audit("); i >= 0 {
		rest = msg[i+len("type=SECCOMP msg=audit("):]
	} else {
		return nil, false, false
	}
	stamp, fields, found := strings.Cut(rest, "):")
	if !found {
		return nil, false, true
	}
	rec = &Record{}
	if !parseStamp(stamp, rec) {
		return nil, false, true
	}
	// auditd's enriched format appends interpreted fields after 0x1d.
	fields, _, _ = strings.Cut(fields, "\x1d")
	seen := map[string]bool{}
	for _, kv := range strings.Fields(fields) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if !setField(rec, k, v) {
			return nil, false, true
		}
		seen[k] = true
	}
	for _, k := range []string{"pid", "arch", "syscall", "code"} {
		if !seen[k] {
			return nil, false, true
		}
	}
	return rec, true, false
}

// parseStamp reads "SECONDS.MILLIS:SERIAL".
func parseStamp(s string, rec *Record) bool {
	t, serial, ok := strings.Cut(s, ":")
	if !ok {
		return false
	}
	sec, ms, ok := strings.Cut(t, ".")
	if !ok {
		return false
	}
	secs, err1 := strconv.ParseInt(sec, 10, 64)
	millis, err2 := strconv.ParseInt(ms, 10, 64)
	n, err3 := strconv.ParseUint(serial, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || millis < 0 || millis > 999 {
		return false
	}
	rec.Time = time.Unix(secs, millis*int64(time.Millisecond))
	rec.Serial = n
	return true
}

// setField sets one field of rec; false when its value does not parse
// (a record cut short in the middle of a value, or garbage).
func setField(rec *Record, k, v string) bool {
	u32 := func(dst *uint32, base int) bool {
		n, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), base, 32)
		*dst = uint32(n)
		return err == nil
	}
	switch k {
	case "auid":
		return u32(&rec.AUID, 10)
	case "uid":
		return u32(&rec.UID, 10)
	case "gid":
		return u32(&rec.GID, 10)
	case "ses":
		return u32(&rec.Ses, 10)
	case "subj":
		rec.Subj = v
	case "pid":
		n, err := strconv.Atoi(v)
		rec.PID = n
		return err == nil && n > 0
	case "comm":
		s, ok := untrusted(v)
		rec.Comm = s
		return ok
	case "exe":
		s, ok := untrusted(v)
		if v == "(null)" {
			s, ok = "", true
		}
		rec.Exe = s
		return ok
	case "sig":
		n, err := strconv.Atoi(v)
		rec.Sig = n
		return err == nil
	case "arch":
		return u32(&rec.Arch, 16)
	case "syscall":
		n, err := strconv.ParseInt(v, 10, 64)
		rec.Syscall = n
		return err == nil
	case "compat":
		rec.Compat = v == "1"
		return v == "0" || v == "1"
	case "ip":
		n, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64)
		rec.IP = n
		return err == nil
	case "code":
		return u32(&rec.Code, 16)
	}
	return true
}

// untrusted decodes an audit "untrusted string": "quoted" as it is, or in
// hex when it holds a space, a quote, a control or a non-ASCII byte.
func untrusted(v string) (string, bool) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1], true
	}
	b, err := hex.DecodeString(v)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// parseLoss recognizes the kernel's signs of lost records: its printk rate
// limit ("kauditd_printk_skb: N callbacks suppressed") and the audit
// backlog ("audit: audit_lost=N audit_rate_limit=... audit_backlog_limit=...",
// whose N counts every record lost since boot).
func parseLoss(msg string) (Loss, bool) {
	if i := strings.Index(msg, "kauditd_printk_skb: "); i >= 0 {
		rest := msg[i+len("kauditd_printk_skb: "):]
		if n, tail, ok := strings.Cut(rest, " "); ok && strings.HasPrefix(tail, "callbacks suppressed") {
			if count, err := strconv.Atoi(n); err == nil {
				return Loss{Count: count}, true
			}
		}
		return Loss{}, false
	}
	if i := strings.Index(msg, "audit_lost="); i >= 0 && strings.Contains(msg, "audit: ") {
		n, _, _ := strings.Cut(msg[i+len("audit_lost="):], " ")
		count, _ := strconv.Atoi(n)
		return Loss{Count: count}, true
	}
	return Loss{}, false
}

// ScanJournal reads journalctl -o json output (one JSON object a line)
// from r: kernel messages and journald's own audit records.
func ScanJournal(r io.Reader, source string) (*Result, error) {
	res := &Result{}
	err := lines(r, res, func(line string) {
		var e map[string]json.RawMessage
		if json.Unmarshal([]byte(line), &e) != nil {
			return
		}
		msg := journalString(e["MESSAGE"])
		if msg == "" {
			return
		}
		var when time.Time
		if us, err := strconv.ParseInt(journalString(e["__REALTIME_TIMESTAMP"]), 10, 64); err == nil {
			when = time.UnixMicro(us)
		}
		if journalString(e["_TRANSPORT"]) == "audit" {
			// journald drops the "audit(...): " part: rebuild it from
			// the record's own time stamp and serial.
			if journalString(e["_AUDIT_TYPE"]) != strconv.Itoa(Type) {
				return
			}
			us, err1 := strconv.ParseInt(journalString(e["_SOURCE_REALTIME_TIMESTAMP"]), 10, 64)
			id := journalString(e["_AUDIT_ID"])
			if err1 != nil || id == "" {
				res.Truncated++
				return
			}
			fields := strings.TrimPrefix(strings.TrimPrefix(msg, "SECCOMP"), " ")
			msg = fmt.Sprintf("type=SECCOMP msg=audit(%d.%03d:%s): %s", us/1e6, us%1e6/1e3, id, fields)
		}
		if res.record(msg, msg, source) {
			return
		}
		if l, ok := parseLoss(msg); ok {
			l.Source, l.Text, l.Time = source, msg, when
			res.Losses = append(res.Losses, l)
		}
	})
	if err != nil {
		return res, fmt.Errorf("read %s: %w", source, err)
	}
	return res, nil
}

// journalString decodes a journal JSON field: a string, an array of bytes
// (a value that is not valid UTF-8), or the first of several values.
func journalString(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b []byte
	var nums []int
	if json.Unmarshal(raw, &nums) == nil {
		for _, n := range nums {
			b = append(b, byte(n))
		}
		return string(b)
	}
	var many []json.RawMessage
	if json.Unmarshal(raw, &many) == nil && len(many) > 0 {
		return journalString(many[0])
	}
	return ""
}
