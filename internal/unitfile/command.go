package unitfile

import (
	"errors"
	"fmt"
	"strings"
)

// Command is one command of an ExecStart= (or ExecStartPre=, ...) setting.
type Command struct {
	// Prefixes are the special characters in front of the executable
	// exactly as written, in their order: any of "@", "-", ":", and one of
	// "+", "!" or "!!" (systemd.service(5), "COMMAND LINES").
	Prefixes string
	// Argv are the words after unquoting and unescaping: Argv[0] is the
	// executable (without prefixes). With the "@" prefix Argv[1] is the
	// argv[0] the program sees and the program's arguments start at
	// Argv[2]; otherwise systemd passes Argv itself. Specifiers (%i) and
	// variables ($VAR, ${VAR}, $$) are left as written: systemd expands
	// them later, and so does it when the command is wrapped.
	Argv []string
	// Raw is the text of the command after the prefixes, exactly as
	// written (quotes, escapes, specifiers and all), up to the end of its
	// last word.
	Raw string
	// Path and Line say where the command was read (set by ExecStart).
	Path string
	Line int
}

// String returns the command as it would be written in a unit.
func (c Command) String() string { return c.Prefixes + c.Raw }

// Has reports whether the command has prefix p ("@", "-", ":", "+", "!"
// or "!!").
func (c Command) Has(p string) bool {
	switch p {
	case "!":
		return strings.Count(c.Prefixes, "!") == 1
	case "!!":
		return strings.Count(c.Prefixes, "!") == 2
	}
	return strings.Contains(c.Prefixes, p)
}

// ArgvZero returns the argv[0] the program receives: Argv[1] with the "@"
// prefix, Argv[0] otherwise.
func (c Command) ArgvZero() string {
	if c.Has("@") && len(c.Argv) > 1 {
		return c.Argv[1]
	}
	return c.Argv[0]
}

// DefaultSearchPath is where systemd 252 (Debian, split /usr) looks up an
// executable given as a plain name (`systemd-path search-binaries-default`).
// A loader that receives such a name must search the same directories.
const DefaultSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// word is one word of a command line: its value after unquoting and where
// it was in the text.
type word struct {
	val        string
	start, end int
}

func isSpace(c byte) bool { return strings.IndexByte(whitespace, c) >= 0 }

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// errUnbalanced is returned for an unterminated quote or a backslash at the
// end of a quoted string.
var errUnbalanced = errors.New("unbalanced quoting")

// nextWord extracts the word at or after s[i] as systemd's
// extract_first_word(EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE) does, after a
// failure retried with EXTRACT_UNESCAPE_RELAX: quotes may open and close
// anywhere in a word; C escapes are decoded in and out of quotes; an
// unknown escape is kept verbatim (backslash included). next is the index
// of the following word (separators skipped); ok is false when only
// whitespace remains.
func nextWord(s string, i int) (w word, next int, ok bool, err error) {
	i = skipSpace(s, i)
	if i >= len(s) {
		return word{}, i, false, nil
	}
	w.start = i
	var b []byte
	var quote byte
	for i < len(s) {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
			i++
		case c == '\\':
			if i+1 >= len(s) {
				if quote != 0 {
					return word{}, 0, false, errUnbalanced
				}
				// A trailing backslash is kept (relaxed retry).
				b = append(b, '\\')
				i++
				continue
			}
			out, n, ok := cunescapeOne(s[i+1:])
			if ok {
				b = append(b, out...)
				i += 1 + n
			} else {
				b = append(b, '\\', s[i+1])
				i += 2
			}
		case quote != 0:
			b = append(b, c)
			i++
		case c == '\'' || c == '"':
			quote = c
			i++
		case isSpace(c):
			w.val, w.end = string(b), i
			return w, skipSpace(s, i), true, nil
		default:
			b = append(b, c)
			i++
		}
	}
	if quote != 0 {
		return word{}, 0, false, errUnbalanced
	}
	w.val, w.end = string(b), len(s)
	return w, len(s), true, nil
}

// Words splits a list setting's value (BindPaths=, InaccessiblePaths=,
// ...) into words as systemd's extract_first_word with EXTRACT_UNQUOTE
// and EXTRACT_CUNESCAPE does.
func Words(value string) ([]string, error) {
	var out []string
	for i := 0; ; {
		w, next, ok, err := nextWord(value, i)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", value, err)
		}
		if !ok {
			return out, nil
		}
		out = append(out, w.val)
		i = next
	}
}

// cunescapeOne decodes the C escape after a backslash (systemd's
// cunescape_one without NUL): the bytes it stands for and how many bytes of
// p it took.
func cunescapeOne(p string) (out []byte, n int, ok bool) {
	if p == "" {
		return nil, 0, false
	}
	switch p[0] {
	case 'a':
		return []byte{'\a'}, 1, true
	case 'b':
		return []byte{'\b'}, 1, true
	case 'f':
		return []byte{'\f'}, 1, true
	case 'n':
		return []byte{'\n'}, 1, true
	case 'r':
		return []byte{'\r'}, 1, true
	case 't':
		return []byte{'\t'}, 1, true
	case 'v':
		return []byte{'\v'}, 1, true
	case '\\', '"', '\'':
		return []byte{p[0]}, 1, true
	case 's':
		return []byte{' '}, 1, true
	case 'x':
		if len(p) < 3 {
			return nil, 0, false
		}
		a, b := unhex(p[1]), unhex(p[2])
		if a < 0 || b < 0 || (a == 0 && b == 0) {
			return nil, 0, false
		}
		return []byte{byte(a<<4 | b)}, 3, true
	case 'u', 'U':
		digits := 4
		if p[0] == 'U' {
			digits = 8
		}
		if len(p) < 1+digits {
			return nil, 0, false
		}
		var c uint32
		for i := 1; i <= digits; i++ {
			d := unhex(p[i])
			if d < 0 {
				return nil, 0, false
			}
			c = c<<4 | uint32(d)
		}
		if c == 0 || (p[0] == 'U' && !unicharIsValid(c)) {
			return nil, 0, false
		}
		return utf8Encode(c), 1 + digits, true
	case '0', '1', '2', '3', '4', '5', '6', '7':
		if len(p) < 3 {
			return nil, 0, false
		}
		var m uint32
		for i := 0; i < 3; i++ {
			if p[i] < '0' || p[i] > '7' {
				return nil, 0, false
			}
			m = m<<3 | uint32(p[i]-'0')
		}
		if m == 0 || m > 255 {
			return nil, 0, false
		}
		return []byte{byte(m)}, 3, true
	}
	return nil, 0, false
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// unicharIsValid is systemd's unichar_is_valid.
func unicharIsValid(c uint32) bool {
	switch {
	case c >= 0x110000, c&0xFFFFF800 == 0xD800, c >= 0xFDD0 && c <= 0xFDEF, c&0xFFFE == 0xFFFE:
		return false
	}
	return true
}

// utf8Encode is systemd's utf8_encode_unichar, which (unlike Go's encoder)
// also encodes surrogates as three bytes.
func utf8Encode(c uint32) []byte {
	switch {
	case c < 0x80:
		return []byte{byte(c)}
	case c < 0x800:
		return []byte{0xc0 | byte(c>>6), 0x80 | byte(c&0x3f)}
	case c < 0x10000:
		return []byte{0xe0 | byte(c>>12), 0x80 | byte(c>>6&0x3f), 0x80 | byte(c&0x3f)}
	default:
		return []byte{0xf0 | byte(c>>18), 0x80 | byte(c>>12&0x3f), 0x80 | byte(c>>6&0x3f), 0x80 | byte(c&0x3f)}
	}
}

// Split splits the value of an ExecStart= setting into its commands as
// systemd 252's config_parse_exec does: a lone ";" word separates commands
// (systemd 252 still accepts this; "\;" is a literal ";" argument), each
// command starts with optional prefixes, and the executable must be an
// absolute path or a plain file name (resolved by systemd through
// DefaultSearchPath). An empty value yields no commands (for ExecStart= it
// resets the list). Split returns an error for every line systemd would
// refuse, or ignore because of a "-" prefix.
func Split(value string) ([]Command, error) {
	value = strings.Trim(value, whitespace)
	var cmds []Command
	p := 0
	for {
		first, next, ok, err := nextWord(value, p)
		if err != nil {
			return nil, fmt.Errorf("%w in %q", err, value)
		}
		if !ok {
			return cmds, nil
		}
		p = next
		if first.val == ";" {
			continue
		}
		prefixes, path := splitPrefixes(first.val)
		if !strings.HasPrefix(value[first.start:], prefixes) {
			return nil, fmt.Errorf("prefix %q inside quotes in %q is not supported", prefixes, value)
		}
		if err := checkExecutable(path); err != nil {
			return nil, fmt.Errorf("%w in %q", err, value)
		}
		start := first.start + len(prefixes)
		words := []word{{val: path, start: start, end: first.end}}
		for p < len(value) {
			if value[p] == ';' && (p+1 == len(value) || isSpace(value[p+1])) {
				p = skipSpace(value, p+1)
				break
			}
			if value[p] == '\\' && p+1 < len(value) && value[p+1] == ';' && (p+2 == len(value) || isSpace(value[p+2])) {
				words = append(words, word{val: ";", start: p, end: p + 2})
				p = skipSpace(value, p+2)
				continue
			}
			w, next, ok, err := nextWord(value, p)
			if err != nil {
				return nil, fmt.Errorf("%w in %q", err, value)
			}
			if !ok {
				break
			}
			words = append(words, w)
			p = next
		}
		if strings.Contains(prefixes, "@") && len(words) < 2 {
			return nil, fmt.Errorf("the @ prefix needs the argv[0] word after the executable in %q", value)
		}
		c := Command{Prefixes: prefixes, Raw: value[start:words[len(words)-1].end]}
		for _, w := range words {
			c.Argv = append(c.Argv, w.val)
		}
		cmds = append(cmds, c)
	}
}

// splitPrefixes takes the prefixes off the first word as systemd does: each
// of "-", "@" and ":" at most once, and at most one of "+", "!", "!!".
func splitPrefixes(w string) (prefixes, rest string) {
	var dash, at, colon, plus, bang, bangbang bool
	i := 0
loop:
	for ; i < len(w); i++ {
		switch c := w[i]; {
		case c == '-' && !dash:
			dash = true
		case c == '@' && !at:
			at = true
		case c == ':' && !colon:
			colon = true
		case c == '+' && !plus && !bang && !bangbang:
			plus = true
		case c == '!' && !plus && !bang && !bangbang:
			bang = true
		case c == '!' && bang && !plus && !bangbang:
			bang, bangbang = false, true
		default:
			break loop
		}
	}
	return w[:i], w[i:]
}

// checkExecutable applies systemd's checks on the executable word. Paths
// with specifiers (%h/bin/foo) are absolute only after expansion, so only
// their characters are checked.
func checkExecutable(path string) error {
	if path == "" {
		return errors.New("empty executable")
	}
	for i := 0; i < len(path); i++ {
		if c := path[i]; c < ' ' || c == 0x7f || c == '\\' || c == '"' || c == '\'' {
			return fmt.Errorf("executable %q contains special characters", path)
		}
	}
	if strings.HasSuffix(path, "/") {
		return fmt.Errorf("executable path %q names a directory", path)
	}
	if strings.Contains(path, "%") {
		return nil
	}
	if strings.HasPrefix(path, "/") {
		if len(path) >= 4096 {
			return fmt.Errorf("executable path %q is too long", path)
		}
		for _, c := range strings.Split(path, "/") {
			if len(c) > 255 {
				return fmt.Errorf("executable path %q has a component longer than 255 bytes", path)
			}
		}
		return nil
	}
	if strings.Contains(path, "/") || path == "." || path == ".." || len(path) > 255 {
		return fmt.Errorf("executable %q is neither an absolute path nor a plain file name", path)
	}
	return nil
}

// Quote returns s written as one word of a command line such that the word
// systemd passes on is exactly s: quoted when it holds whitespace, quotes,
// backslashes or control characters (or is empty or ";"), "%" written as
// "%%" so no specifier is expanded, and with envExpand (a command without
// the ":" prefix) "$" written as "$$" so no variable is.
func Quote(s string, envExpand bool) string {
	s = strings.ReplaceAll(s, "%", "%%")
	if envExpand {
		s = strings.ReplaceAll(s, "$", "$$")
	}
	return quoteWord(s)
}

// quoteWord quotes s for the unquoting layer only: specifiers and
// variables in it keep their meaning.
func quoteWord(s string) string {
	if s != "" && s != ";" && !strings.ContainsAny(s, whitespace+"\"'\\") && !hasControl(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// Wrap returns the ExecStart= value that runs cmd through loader:
//
//	<prefixes without @><loader> <loaderArgs...> [-argv0=NAME] -- <cmd.Raw without the argv0 word>
//
// The "-" and ":" prefixes stay in front. With "@" the word after the
// executable (the argv[0] the program is to see) becomes the loader
// argument -argv0=NAME, with its specifiers and variables intact, and is
// dropped from the command. Loader arguments are quoted with Quote so
// systemd passes them on literally. The command after "--" is cmd.Raw
// verbatim, so systemd expands specifiers and variables in it exactly as it
// did before; a plain executable name reaches the loader unresolved (see
// DefaultSearchPath).
//
// Commands that Wrappable refuses cannot be wrapped, nor can a loader
// CheckLoader refuses.
func Wrap(cmd Command, loader string, loaderArgs []string) (string, error) {
	if err := cmd.Wrappable(); err != nil {
		return "", err
	}
	if err := CheckLoader(loader); err != nil {
		return "", err
	}
	words, _ := rawWords(cmd.Raw) // Wrappable read them
	envExpand := !cmd.Has(":")

	var b strings.Builder
	for i := 0; i < len(cmd.Prefixes); i++ {
		if c := cmd.Prefixes[i]; c == '-' || c == ':' {
			b.WriteByte(c)
		}
	}
	b.WriteString(quoteWord(strings.ReplaceAll(loader, "%", "%%")))
	for _, a := range loaderArgs {
		b.WriteByte(' ')
		b.WriteString(Quote(a, envExpand))
	}
	raw := cmd.Raw
	if cmd.Has("@") {
		argv0 := words[1]
		b.WriteByte(' ')
		b.WriteString(quoteWord("-argv0=" + argv0.val))
		end := len(raw)
		if len(words) > 2 {
			end = words[2].start
		}
		raw = strings.TrimRight(raw[:argv0.start]+raw[end:], whitespace)
	}
	b.WriteString(" -- ")
	b.WriteString(raw)
	return b.String(), nil
}

// Wrappable says why cmd cannot be wrapped, nil when it can: a command
// with "+", "!" or "!!" runs with full privileges or without part of the
// sandbox; the executable must be a word systemd does not expand once it
// is the loader's argument; and with "@" the argv[0] word must be there,
// and one word.
func (c Command) Wrappable() error {
	orig := c.Prefixes + c.Raw
	if p := c.Unsandboxed(); p != "" {
		return fmt.Errorf("ExecStart=%s cannot be wrapped: ExecStart=%s... runs without sandboxing, so a seccomp filter from fencer would not apply consistently; remove the prefix or set exec_start", orig, p)
	}
	// Parse again to know where each word of Raw is.
	if cmds, err := Split(orig); err != nil {
		return fmt.Errorf("ExecStart=%s cannot be wrapped: %w", orig, err)
	} else if len(cmds) != 1 {
		return fmt.Errorf("ExecStart=%s cannot be wrapped: it is %d commands, not one", orig, len(cmds))
	}
	words, err := rawWords(c.Raw)
	if err != nil {
		return fmt.Errorf("ExecStart=%s cannot be wrapped: %w", orig, err)
	}
	if len(words) == 0 {
		return fmt.Errorf("ExecStart=%s cannot be wrapped: no command", orig)
	}
	envExpand := !c.Has(":")
	if envExpand && strings.Contains(words[0].val, "$") {
		return fmt.Errorf("ExecStart=%s cannot be wrapped: systemd would expand the $ in the executable %q once it is an argument of the loader", orig, words[0].val)
	}
	if c.Has("@") {
		if len(words) < 2 {
			return fmt.Errorf("ExecStart=%s cannot be wrapped: the @ prefix needs an argv[0] word", orig)
		}
		if argv0 := words[1]; envExpand && isWholeVariable(argv0.val) {
			return fmt.Errorf("ExecStart=%s cannot be wrapped: argv[0] %s is split into words by systemd; write ${...} instead", orig, argv0.val)
		}
	}
	return nil
}

// Unsandboxed returns the prefix that runs cmd with full privileges or
// without part of the sandbox ("!!", "!" or "+"), "" when it has none.
func (c Command) Unsandboxed() string {
	switch {
	case c.Has("!!"):
		return "!!"
	case c.Has("!"):
		return "!"
	case strings.ContainsAny(c.Prefixes, "+!"):
		return "+"
	}
	return ""
}

// CheckLoader says why loader cannot be the executable of a wrapped
// command, nil when it can: it is an absolute path, without the
// characters a command line would have to quote, not a directory.
func CheckLoader(loader string) error {
	if !strings.HasPrefix(loader, "/") {
		return fmt.Errorf("loader %q is not an absolute path", loader)
	}
	if err := checkExecutable(loader); err != nil {
		return fmt.Errorf("loader: %w", err)
	}
	return nil
}

// rawWords splits the text of one command (after its prefixes) into words
// with their positions; "\;" is the word ";".
func rawWords(raw string) ([]word, error) {
	var words []word
	p := 0
	for p < len(raw) {
		if raw[p] == '\\' && p+1 < len(raw) && raw[p+1] == ';' && (p+2 == len(raw) || isSpace(raw[p+2])) {
			words = append(words, word{val: ";", start: p, end: p + 2})
			p = skipSpace(raw, p+2)
			continue
		}
		w, next, ok, err := nextWord(raw, p)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		words = append(words, w)
		p = next
	}
	return words, nil
}

// isWholeVariable reports whether w is "$NAME", which systemd replaces by
// the variable's value split into words.
func isWholeVariable(w string) bool {
	if len(w) < 2 || w[0] != '$' || w[1] == '{' || w[1] == '$' {
		return false
	}
	for i := 1; i < len(w); i++ {
		c := w[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 1 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
