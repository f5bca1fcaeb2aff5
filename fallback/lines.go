package fallback

import "strings"

// line is one line of a configuration file: its text without the line
// ending, and the ending itself ("\n", "\r\n", or "" for a last line that
// has none). Keeping the ending with the line is what lets an edit and its
// revert give back a file byte for byte, CRLF and missing final newline
// included.
type line struct {
	text string
	eol  string
}

// splitLines cuts b into lines. joinLines(splitLines(b)) == b for every b.
func splitLines(b []byte) []line {
	s := string(b)
	var out []line
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, line{text: s})
			break
		}
		l := line{text: s[:i], eol: "\n"}
		if strings.HasSuffix(l.text, "\r") {
			l.text, l.eol = l.text[:len(l.text)-1], "\r\n"
		}
		out = append(out, l)
		s = s[i+1:]
	}
	return out
}

// joinLines is the inverse of splitLines.
func joinLines(ls []line) []byte {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l.text)
		b.WriteString(l.eol)
	}
	return []byte(b.String())
}

// dominantEOL is the line ending most lines of the file use ("\n" for an
// empty file), so lines the agent adds match the file's style.
func dominantEOL(ls []line) string {
	crlf, lf := 0, 0
	for _, l := range ls {
		switch l.eol {
		case "\r\n":
			crlf++
		case "\n":
			lf++
		}
	}
	if crlf > lf {
		return "\r\n"
	}
	return "\n"
}

// insertLines inserts block (whose lines carry no endings yet) before index
// at, giving each added line the file's dominant ending. When the block
// goes at the end of a file whose last line has no ending, that line gets
// one and the block's last line takes over the missing ending, so the file
// keeps "no final newline" and removeLines can undo it exactly.
//
// A last line ending in a bare "\r" cannot get an ending of its own (it
// would read back as a CRLF line), so the block goes before it instead.
func insertLines(ls []line, at int, block []string) []line {
	eol := dominantEOL(ls)
	if at == len(ls) && at > 0 && ls[at-1].eol == "" && strings.HasSuffix(ls[at-1].text, "\r") {
		at--
	}
	add := make([]line, len(block))
	for i, t := range block {
		add[i] = line{text: t, eol: eol}
	}
	out := make([]line, 0, len(ls)+len(add))
	out = append(out, ls[:at]...)
	if at == len(ls) && at > 0 && ls[at-1].eol == "" {
		out[at-1].eol = eol
		add[len(add)-1].eol = ""
	}
	out = append(out, add...)
	return append(out, ls[at:]...)
}

// removeLines removes ls[from:to] and undoes what insertLines did to the
// line before a block that ended the file without a final newline.
func removeLines(ls []line, from, to int) []line {
	out := make([]line, 0, len(ls)-(to-from))
	out = append(out, ls[:from]...)
	if to == len(ls) && from > 0 && ls[to-1].eol == "" {
		out[from-1].eol = ""
	}
	return append(out, ls[to:]...)
}
