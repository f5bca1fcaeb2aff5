package main

import (
	"bytes"
	byteorder "encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/rs/zerolog"
)

// journalSocket is where systemd-journald takes log records in its native
// protocol, one datagram each (systemd.journal-fields(7),
// https://systemd.io/JOURNAL_NATIVE_PROTOCOL/).
const journalSocket = "/run/systemd/journal/socket"

// syslogIdentifier names the records in the journal (journalctl -t).
const syslogIdentifier = "ntp-optimizer"

// maxFieldName is the longest journal field name journald accepts.
const maxFieldName = 64

// onJournal reports whether f is connected to the journal's stream: systemd
// sets JOURNAL_STREAM to the stream's DEVICE:INODE for a service whose
// stderr (or stdout) is the journal, and f must be that very file, not
// one the service redirected (systemd.exec(5), sd_journal_stream_fd(3)).
func onJournal(f interface{ Fd() uintptr }, getenv func(string) string) bool {
	dev, ino, ok := strings.Cut(getenv("JOURNAL_STREAM"), ":")
	if !ok {
		return false
	}
	var st syscall.Stat_t
	if syscall.Fstat(int(f.Fd()), &st) != nil {
		return false
	}
	return dev == strconv.FormatUint(st.Dev, 10) && ino == strconv.FormatUint(st.Ino, 10)
}

// priority is the syslog priority of a zerolog level (sd-daemon(3)'s
// SD_ERR and friends): a record without a level is informational.
func priority(l zerolog.Level) int {
	switch l {
	case zerolog.PanicLevel:
		return 0 // emerg
	case zerolog.FatalLevel:
		return 2 // crit
	case zerolog.ErrorLevel:
		return 3 // err
	case zerolog.WarnLevel:
		return 4 // warning
	case zerolog.DebugLevel, zerolog.TraceLevel:
		return 7 // debug
	}
	return 6 // info
}

// journalWriter sends each JSON log record to journald as one datagram of
// the native protocol: PRIORITY from the level, MESSAGE with the message
// followed by the fields as key=value (what journalctl shows), and every
// field as a journal field of its own (run_id as RUN_ID, outcome as
// OUTCOME, server as SERVER), so `journalctl -p err` and
// `journalctl RUN_ID=...` select them. A record that cannot be sent (no
// journald, a datagram too large for the socket's buffer) goes to the
// stream instead, as the JSON line with its "<N>" priority prefix: nothing
// is lost, and the priority is still seen when the stream is the journal.
type journalWriter struct {
	mu     sync.Mutex
	conn   net.Conn  // nil when the socket could not be reached
	stream io.Writer // the fallback: stderr
}

// newJournalWriter connects to journald's socket (path). A socket that is
// not there is no error: every record then goes to stream.
func newJournalWriter(path string, stream io.Writer) *journalWriter {
	w := &journalWriter{stream: stream}
	if conn, err := net.Dial("unixgram", path); err == nil {
		w.conn = conn
	}
	return w
}

func (w *journalWriter) Write(p []byte) (int, error) {
	return w.WriteLevel(zerolog.NoLevel, p)
}

// WriteLevel sends one record. p is the record as zerolog renders it: one
// JSON object and a newline.
func (w *journalWriter) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn != nil {
		if msg, err := journalRecord(l, p); err == nil {
			if _, err := w.conn.Write(msg); err == nil {
				return len(p), nil
			}
		}
	}
	if _, err := fmt.Fprintf(w.stream, "<%d>%s", priority(l), p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// journalRecord encodes a zerolog JSON record in the native protocol: a
// field is NAME=value and a newline, or, when the value has a newline,
// NAME, a newline, the value's length as 64-bit little endian, the value
// and a newline. Field names are the JSON keys in upper case, with any
// other character than A-Z, 0-9 and _ replaced by _ (journald rejects
// them); "level" becomes PRIORITY and "time" is left to journald's own
// timestamp.
func journalRecord(l zerolog.Level, p []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("log record is not a JSON object: %q", p)
	}
	var msg string
	var keys, fields, text, shown []string // keys, names, values and values in MESSAGE, in the record's order
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		value, show := string(raw), string(raw) // a number, a list: its JSON
		var s string
		if json.Unmarshal(raw, &s) == nil {
			value, show = s, logfmtValue(s)
		}
		switch key {
		case zerolog.LevelFieldName, zerolog.TimestampFieldName:
			continue
		case zerolog.MessageFieldName:
			msg = value
			continue
		}
		name := fieldName(key)
		if name == "" || name == "MESSAGE" || name == "PRIORITY" || name == "SYSLOG_IDENTIFIER" {
			continue
		}
		keys, fields, text, shown = append(keys, key), append(fields, name), append(text, value), append(shown, show)
	}
	var b bytes.Buffer
	line := msg
	for i, key := range keys {
		line += " " + key + "=" + shown[i]
	}
	addField(&b, "MESSAGE", strings.TrimPrefix(line, " "))
	addField(&b, "PRIORITY", strconv.Itoa(priority(l)))
	addField(&b, "SYSLOG_IDENTIFIER", syslogIdentifier)
	for i, name := range fields {
		addField(&b, name, text[i])
	}
	return b.Bytes(), nil
}

// fieldName makes a journal field name of a JSON key: upper case, only
// A-Z, 0-9 and _, not starting with _ (trusted fields) or a digit, at most
// 64 characters. "" when nothing is left.
func fieldName(key string) string {
	name := []byte(strings.ToUpper(key))
	for i, c := range name {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			name[i] = '_'
		}
	}
	s := strings.TrimLeft(string(name), "_0123456789")
	if len(s) > maxFieldName {
		s = s[:maxFieldName]
	}
	return s
}

// logfmtValue quotes a string for MESSAGE when it is empty or has a space,
// a quote or an = (as zerolog's console writer shows fields).
func logfmtValue(v string) string {
	if v == "" || strings.ContainsAny(v, " \t\n\"=") {
		return strconv.Quote(v)
	}
	return v
}

func addField(b *bytes.Buffer, name, value string) {
	if !strings.Contains(value, "\n") {
		b.WriteString(name + "=" + value + "\n")
		return
	}
	b.WriteString(name + "\n")
	_ = byteorder.Write(b, byteorder.LittleEndian, uint64(len(value)))
	b.WriteString(value + "\n")
}

// syslogPrefix puts each record's priority in front of its line ("<3>"
// for an error) for a stream journald reads: it takes the prefix as the
// line's priority (SyslogLevelPrefix=yes, the default; systemd.exec(5)).
// next renders the record (JSON as it is, or the console format) onto the
// prefix writer, one Write per record.
type syslogPrefix struct {
	mu   sync.Mutex
	pri  int
	next io.Writer
	out  io.Writer
}

// newSyslogPrefix returns a writer that prefixes the lines render (given
// the writer to render onto) writes to out.
func newSyslogPrefix(out io.Writer, render func(io.Writer) io.Writer) *syslogPrefix {
	s := &syslogPrefix{out: out}
	s.next = render(prefixed{s})
	return s
}

func (s *syslogPrefix) Write(p []byte) (int, error) { return s.WriteLevel(zerolog.NoLevel, p) }

func (s *syslogPrefix) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pri = priority(l)
	return s.next.Write(p)
}

// prefixed is the writer the renderer writes a record's line to.
type prefixed struct{ s *syslogPrefix }

func (p prefixed) Write(b []byte) (int, error) {
	if _, err := fmt.Fprintf(p.s.out, "<%d>%s", p.s.pri, b); err != nil {
		return 0, err
	}
	return len(b), nil
}
