package unitfile

import (
	"errors"
	"strings"
)

// errSyntax is extract's error: an unbalanced quote or a trailing
// backslash.
var errSyntax = errors.New("invalid syntax")

// extract is systemd 252's extract_first_word as its parsers of path
// settings call it: without EXTRACT_CUNESCAPE, so a backslash takes the
// next character as it is ("\x65" is "x65", "\:" is ":"); quotes removed
// when unquote is set, kept as characters otherwise; words separated by any
// of seps, several separators in a row coalesced unless dontCoalesce (then
// a separator right at the start makes an empty word); with retain, a
// backslash and the character after it are both kept (EXTRACT_RETAIN_ESCAPE),
// for a second split that unescapes them. It reads s from i
// and returns the word, where to read on, the separator that ended the
// word (0 at the end of s), and found false when s holds no more words.
func extract(s string, i int, seps string, unquote, dontCoalesce, retain bool) (word string, next int, sep byte, found bool, err error) {
	isSep := func(c byte) bool { return strings.IndexByte(seps, c) >= 0 }
	for ; i < len(s); i++ {
		if !isSep(s[i]) {
			break
		}
		if dontCoalesce {
			return "", i + 1, s[i], true, nil
		}
	}
	if i == len(s) {
		return "", len(s), 0, false, nil
	}
	var b strings.Builder
	var quote byte
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\\':
			if retain {
				b.WriteByte(c)
				i++
				continue
			}
			if i+1 == len(s) {
				return "", 0, 0, false, errSyntax
			}
			b.WriteByte(s[i+1])
			i += 2
		case quote != 0:
			if c == quote {
				quote = 0
				if !unquote {
					b.WriteByte(c)
				}
			} else {
				b.WriteByte(c)
			}
			i++
		case unquote && (c == '\'' || c == '"'):
			quote = c
			i++
		case isSep(c):
			if dontCoalesce {
				return b.String(), i + 1, c, true, nil
			}
			for i < len(s) && isSep(s[i]) {
				i++
			}
			return b.String(), i, c, true, nil
		default:
			b.WriteByte(c)
			i++
		}
	}
	if quote != 0 {
		return "", 0, 0, false, errSyntax
	}
	return b.String(), len(s), 0, true, nil
}

// PathWords splits the value of a list of paths (InaccessiblePaths=,
// TemporaryFileSystem=, NoExecPaths=, ExtensionDirectories=, ...) as
// systemd 252 does: words separated by whitespace, quotes removed, a
// backslash taking the next character as it is. At a syntax error (an
// unbalanced quote) systemd ignores the rest of the line but keeps the
// words before it, and so does PathWords. The words are as written, their
// specifiers not expanded.
func PathWords(value string) []string {
	var out []string
	for i := 0; ; {
		w, next, _, found, err := extract(value, i, whitespace, true, false, false)
		if err != nil || !found {
			return out
		}
		out = append(out, w)
		i = next
	}
}

// TemporaryPath returns the path of a TemporaryFileSystem= word
// ("PATH[:OPTIONS]"), which systemd splits at the first ":" with quotes
// kept and a backslash taking the next character; ok is false for a word
// systemd ignores.
func TemporaryPath(word string) (string, bool) {
	p, _, _, found, err := extract(word, 0, ":", false, true, false)
	return p, found && err == nil && p != ""
}

// BindPath is an entry of BindPaths= or BindReadOnlyPaths=, as written
// (specifiers not expanded): Source, with its "-" prefix, and Dest, ""
// when the entry binds the source in place.
type BindPath struct {
	Source, Dest string
}

// BindPaths splits a BindPaths= or BindReadOnlyPaths= value as systemd
// 252's config_parse_bind_paths does: entries separated by whitespace,
// each "SOURCE[:DEST[:OPTIONS]]", every part unquoted, a backslash taking
// the next character ("\:" is a ":" within a path). At a syntax error the
// rest of the line is ignored, the entries before it kept. An entry whose
// source systemd refuses for what it says (a relative path, an unknown
// specifier) is returned, for the caller to drop with its destination:
// systemd would read that destination as a source bound in place, which
// hides nothing.
func BindPaths(value string) []BindPath {
	const seps = ":" + whitespace
	var out []BindPath
	for i := 0; ; {
		src, next, sep, found, err := extract(value, i, seps, true, true, false)
		if err != nil || !found {
			return out
		}
		i = next
		if src == "" {
			// systemd refuses the empty source and reads on from
			// after it: what follows a ":" is the next source.
			continue
		}
		e := BindPath{Source: src}
		if sep == ':' {
			dst, next, sep, found, err := extract(value, i, seps, true, true, false)
			if err != nil {
				return out
			}
			i = next
			if !found || dst == "" {
				continue // systemd: missing argument after ':'
			}
			e.Dest = dst
			if sep == ':' {
				opts, next, _, _, err := extract(value, i, whitespace, true, false, false)
				if err != nil {
					return out
				}
				i = next
				if opts != "" && opts != "rbind" && opts != "norbind" {
					continue // systemd: invalid option string
				}
			}
		}
		out = append(out, e)
	}
}

// MountImages returns the destinations of a MountImages= value
// ("SOURCE:DEST[:OPTIONS...]" entries), as systemd 252 reads them: each
// entry a word with quotes removed and escapes kept, then split at ":"
// with C escapes decoded ("\:" a ":" of the path). Entries systemd
// ignores (no destination) are left out.
func MountImages(value string) []string {
	var out []string
	for i := 0; ; {
		tuple, next, _, found, err := extract(value, i, whitespace, true, false, true)
		if err != nil || !found {
			return out
		}
		i = next
		var parts []string
		var b strings.Builder
		for j := 0; j < len(tuple); j++ {
			c := tuple[j]
			switch {
			case c == '\\' && j+1 < len(tuple) && tuple[j+1] == ':':
				b.WriteByte(':')
				j++
			case c == '\\':
				dec, n, ok := cunescapeOne(tuple[j+1:])
				if !ok {
					b.WriteByte(c)
					continue
				}
				b.Write(dec)
				j += n
			case c == ':':
				parts = append(parts, b.String())
				b.Reset()
			default:
				b.WriteByte(c)
			}
		}
		parts = append(parts, b.String())
		if len(parts) >= 2 && parts[1] != "" {
			out = append(out, parts[1])
		}
	}
}
