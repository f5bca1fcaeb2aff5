package config

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2/unstable"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
)

// loadWithin runs Load with a deadline, so a loader that blocks (on a FIFO
// with no writer) fails the test instead of hanging it.
func loadWithin(t *testing.T, path string, required bool) (*Loaded, error) {
	t.Helper()
	type result struct {
		l   *Loaded
		err error
	}
	done := make(chan result, 1)
	go func() {
		l, err := Load(path, required)
		done <- result{l, err}
	}()
	select {
	case r := <-done:
		return r.l, r.err
	case <-time.After(5 * time.Second):
		t.Fatalf("Load(%s) still blocked after 5 s", path)
		return nil, nil
	}
}

// TestLoadRefusesNonRegularFiles (issue 12, item 6): a device, a FIFO or a
// directory is refused before anything is read from it, naming the file
// and what it is, whether or not the file was required. /dev/zero ran the
// loader out of memory; a FIFO blocked it forever.
func TestLoadRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "config.fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	sub := filepath.Join(dir, "config.d")
	require.NoError(t, os.Mkdir(sub, 0o700))
	link := filepath.Join(dir, "zero.toml")
	require.NoError(t, os.Symlink("/dev/zero", link))
	for _, tc := range []struct{ name, path, kind string }{
		{"dev-zero", "/dev/zero", "a character device"},
		{"dev-null", "/dev/null", "a character device"},
		{"symlink to dev-zero", link, "a character device"},
		{"fifo", fifo, "a FIFO"},
		{"directory", sub, "a directory"},
	} {
		for _, required := range []bool{true, false} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := loadWithin(t, tc.path, required)
				require.Error(t, err)
				require.ErrorContains(t, err, tc.path)
				require.ErrorContains(t, err, tc.kind+", not a regular file")
			})
		}
	}
}

// TestLoadSizeCap (issue 12, item 6): the file is capped at MaxFileBytes,
// as server lists are; a file of exactly the cap is read.
func TestLoadSizeCap(t *testing.T) {
	require.Equal(t, 1<<20, MaxFileBytes)
	head := "[testing]\nsamples_per_server = 3\n"
	pad := func(n int) string { return "#" + strings.Repeat("x", n-2) + "\n" }

	exact := writeFile(t, head+pad(MaxFileBytes-len(head)))
	l, err := Load(exact, true)
	require.NoError(t, err)
	require.Equal(t, 3, l.Config.Testing.SamplesPerServer)

	big := writeFile(t, head+pad(MaxFileBytes-len(head)+1))
	_, err = Load(big, true)
	require.EqualError(t, err, "configuration file "+big+": larger than 1 MiB (1048576 bytes): not a configuration file")
}

// TestDuplicateKeys (issue 12, item 9): a key set twice, however it is
// written, is an error naming both lines; so is a [section] opened twice.
// The last value used to win silently.
func TestDuplicateKeys(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"same section", "[selection]\nset_size = 2\nset_size = 3\n",
			`:3: duplicate key "selection.set_size" (first set at line 2)`},
		{"dotted then section", "selection.set_size = 2\n\n[selection]\nset_size = 3\n",
			`:4: duplicate key "selection.set_size" (first set at line 1)`},
		{"quoted", "servers = [\"a.example\"]\n\"servers\" = [\"b.example\"]\n",
			`:2: duplicate key "servers" (first set at line 1)`},
		{"inline table", "notifications = { email = { enabled = true } }\n[notifications.email]\nenabled = false\n",
			`:3: duplicate key "notifications.email.enabled" (first set at line 1)`},
		{"section twice", "[testing]\nsamples_per_server = 3\n[selection]\nmin_score = 70\n[testing]\ntimeout = 3\n",
			`:5: duplicate section [testing] (first at line 1)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.doc)
			_, err := Load(p, true)
			require.Error(t, err)
			require.Equal(t, p+tc.want, err.Error())
		})
	}
}

// TestMinSetSizeAboveSetSize (issue 12, item 9): min_set_size above
// set_size passed `config check`, and apply then shrank the set to
// set_size. Both keys, their values and origins are in the error. A
// min_set_size left at its default follows a smaller set_size.
func TestMinSetSizeAboveSetSize(t *testing.T) {
	p := writeFile(t, "[selection]\nset_size = 2\nmin_set_size = 5\n")
	l, err := Load(p, true)
	require.NoError(t, err)
	err = l.Validate()
	require.ErrorIs(t, err, ErrInvalid)
	require.EqualError(t, err, "selection.min_set_size = 5 (from file "+p+":3): must be at most selection.set_size (2, from file "+p+":2)")

	l, err = Load(writeFile(t, "[selection]\nset_size = 2\n"), true)
	require.NoError(t, err)
	require.NoError(t, l.Validate(), "the default min_set_size (3) is not the operator's")

	l, err = Load("", false)
	require.NoError(t, err)
	require.NoError(t, l.ApplyEnv(env(map[string]string{"NTP_OPTIMIZER_MIN_SET_SIZE": "6"})))
	require.EqualError(t, l.Validate(), "selection.min_set_size = 6 (from env NTP_OPTIMIZER_MIN_SET_SIZE): must be at most selection.set_size (4, default)")

	c := Default()
	c.Selection.SetSize, c.Selection.MinSetSize = 2, 5
	require.ErrorContains(t, c.Validate(), "selection.min_set_size = 5: must be at most selection.set_size (2)")
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// applyAccepts is what the live chronyd backend does with the options when
// it adds a source (chronylive's add): SetOptions on a fresh ADD_SOURCE
// request for the server, then the request's own validation in AddSource.
func applyAccepts(opts, addr string, port uint32) error {
	r := chronyctl.NewAddSource(chronyctl.TypeServer, addr)
	r.Port = port
	if err := r.SetOptions(opts); err != nil {
		return err
	}
	return r.Validate()
}

// TestSourceOptionsCheckedAsApplyWill (issue 12, item 9): config check
// accepts chrony.source_options exactly when apply can use them, from the
// file, the environment or a flag, and says where a bad value came from.
func TestSourceOptionsCheckedAsApplyWill(t *testing.T) {
	for _, opts := range []string{
		"iburst", "", "minpoll abc", "minpoll", "minpoll 4 maxpoll 10", "minpoll 30", "maxpoll -8",
		"polltarget 0", "maxdelay 0", "maxdelay -1", "version 5", "version 4", "port 123", "iburst\nserver x",
		"key 1 nts", "minstratum 2 filter 3", "offset 0.5 asymmetry 1", "presend x", "certset 1 ntsport 4460",
	} {
		want := applyAccepts(opts, "192.0.2.1", 123)
		c := Default()
		c.Chrony.SourceOptions = opts
		got := c.Validate()
		require.Equal(t, want == nil, got == nil, "%q: apply says %v, config check %v", opts, want, got)
		for _, addr := range []string{"2001:db8::1", "198.51.100.7"} {
			require.Equal(t, want == nil, applyAccepts(opts, addr, 10123) == nil, "%q on %s", opts, addr)
		}
	}

	p := writeFile(t, "[chrony]\n\nsource_options = \"minpoll abc\"\n")
	l, err := Load(p, true)
	require.NoError(t, err)
	require.EqualError(t, l.Validate(), `chrony.source_options = "minpoll abc" (from file `+p+
		`:3): must be chrony server options (chrony.conf(5), without port): minpoll: want an integer, got "abc"`)

	l, err = Load("", false)
	require.NoError(t, err)
	require.NoError(t, l.ApplyEnv(env(map[string]string{"NTP_OPTIMIZER_SOURCE_OPTIONS": "iburst minpoll abc"})))
	require.ErrorContains(t, l.Validate(), "(from env NTP_OPTIMIZER_SOURCE_OPTIONS)")

	require.ErrorContains(t, runFlags(t, "--source-options", "maxpoll 99"), "(from flag --source-options)")
}

// runFlags loads the defaults, applies the flags and validates.
func runFlags(t *testing.T, args ...string) error {
	t.Helper()
	var verr error
	app := &cli.App{Name: "t", Flags: Flags("", "paths", "chrony", "testing", "selection", "geographic",
		"notifications", "notifications.email", "notifications.webhook", "history"),
		Action: func(c *cli.Context) error {
			l, err := Load("", false)
			if err != nil {
				return err
			}
			if err := l.ApplyFlags(c); err != nil {
				return err
			}
			verr = l.Validate()
			return nil
		}}
	require.NoError(t, app.Run(append([]string{"t"}, args...)))
	return verr
}

// TestEveryErrorNamesItsSource (issue 12, item 9): every validation error
// names the key and where its value came from (file:line, the variable,
// the flag). max_servers_to_test = 0, a newline in servers and
// NTP_OPTIMIZER_KEEP="evil host" used to say neither.
func TestEveryErrorNamesItsSource(t *testing.T) {
	fileCases := []struct{ name, doc, want string }{
		{"max_servers_to_test", "[testing]\nmax_servers_to_test = 0\n",
			"testing.max_servers_to_test = 0 (from file %s:2): must be between 1 and 1000"},
		{"newline in servers", "servers = [\n  \"ok.example\",\n  \"a.example\\nrestrict default\",\n]\n",
			`servers[1] = "a.example\nrestrict default" (from file %s:3): must be a server: host, host:port or [IPv6]:port: invalid server name "a.example\nrestrict default": control character U+000A at byte 9`},
		{"keep", "keep = [\"evil host\"]\n",
			`keep[0] = "evil host" (from file %s:1): must be a server: host, host:port or [IPv6]:port: invalid server name "evil host": whitespace at byte 4`},
		{"more keep than max", "keep = [\"a.example\", \"b.example\"]\n[testing]\nmax_servers_to_test = 1\n",
			`keep = ["a.example", "b.example"] (from file %s:1): must be no more servers than testing.max_servers_to_test (1, from file %s:3)`},
		{"country", "[geographic]\ncountry = \"zz\"\n",
			`geographic.country = "zz" (from file %s:2): must be an ISO 3166 alpha-2 country code (e.g. "de")`},
		{"remote list", "remote_list_url = \"http://lists.example/ntp\"\n",
			`remote_list_url = "http://lists.example/ntp" (from file %s:1): must be an https:// URL without credentials: "http://lists.example/ntp": only https:// URLs are allowed`},
		{"servers file", "servers_files = [\"/etc/a\", \"\"]\n",
			`servers_files[1] = "" (from file %s:1): must be a file name`},
		{"notifications", "[notifications.email]\nenabled = true\nsmtp_server = \"smtp.example\"\nfrom_address = \"a@example.org\"\nto_addresses = [\"b@example.org\"]\nsmtp_port = 0\n",
			"notifications.email.smtp_port = 0 (from file %s:6): invalid notifications configuration: notifications.email.smtp_port is 0; it must be from 1 to 65535"},
		{"repeat_after", "[notifications]\nrepeat_after = \"1s\"\n",
			"notifications.repeat_after = 1s (from file %s:2): invalid notifications configuration: notifications.repeat_after is 1s"},
	}
	for _, tc := range fileCases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.doc)
			l, err := Load(p, true)
			require.NoError(t, err)
			err = l.Validate()
			require.ErrorIs(t, err, ErrInvalid)
			require.Contains(t, err.Error(), strings.ReplaceAll(tc.want, "%s", p))
		})
	}

	t.Run("env", func(t *testing.T) {
		l, err := Load("", false)
		require.NoError(t, err)
		require.NoError(t, l.ApplyEnv(env(map[string]string{"NTP_OPTIMIZER_KEEP": "evil host", "NTP_OPTIMIZER_MAX_SERVERS": "0"})))
		err = l.Validate()
		require.ErrorIs(t, err, ErrInvalid)
		require.Contains(t, err.Error(), `keep[0] = "evil host" (from env NTP_OPTIMIZER_KEEP): must be a server`)
		require.Contains(t, err.Error(), `testing.max_servers_to_test = 0 (from env NTP_OPTIMIZER_MAX_SERVERS)`)
	})
	t.Run("flag", func(t *testing.T) {
		err := runFlags(t, "--server", "ok.example", "--server", "0.0.0.0", "--max-servers", "5000")
		require.ErrorIs(t, err, ErrInvalid)
		require.Contains(t, err.Error(), `servers[1] = "0.0.0.0" (from flag --server): must be a server`)
		require.Contains(t, err.Error(), `testing.max_servers_to_test = 5000 (from flag --max-servers)`)
	})
	t.Run("every line", func(t *testing.T) {
		p := writeFile(t, "servers = [\"0.0.0.0\"]\nkeep = [\"a b\"]\npolicy = \"yolo\"\nremote_list_url = \"ftp://x\"\n"+
			"[paths]\nstate_dir = \"state\"\n[testing]\nmax_servers_to_test = 0\nsamples_per_server = 9\n"+
			"[selection]\nset_size = 2\nmin_set_size = 3\nweight_jitter = 2\n[geographic]\ncountry = \"xx\"\n")
		l, err := Load(p, true)
		require.NoError(t, err)
		err = l.Validate()
		msgs := strings.Split(err.Error(), "\n")
		require.GreaterOrEqual(t, len(msgs), 10, err.Error())
		for _, m := range msgs {
			require.Contains(t, m, "(from file "+p+":", "an error without its source: %s", m)
		}
	})
}

// TestServersRejectSpecialAddresses (issue 12, item 10): the unspecified
// addresses, broadcast and multicast cannot be NTP servers; they were
// accepted and shown as "not measured" with no reason.
func TestServersRejectSpecialAddresses(t *testing.T) {
	for _, tc := range []struct{ addr, why string }{
		{"0.0.0.0", "the unspecified address"},
		{"0.0.0.0:123", "the unspecified address"},
		{"::", "the unspecified address"},
		{"[::]:123", "the unspecified address"},
		{"::ffff:0.0.0.0", "the unspecified address"},
		{"255.255.255.255", "the broadcast address"},
		{"224.0.1.1", "a multicast address"},
		{"239.255.255.250:1900", "a multicast address"},
		{"ff02::101", "a multicast address"},
	} {
		p := writeFile(t, "servers = [\"ntp.example\", \""+tc.addr+"\"]\n")
		l, err := Load(p, true)
		require.NoError(t, err)
		err = l.Validate()
		require.ErrorIs(t, err, ErrInvalid, tc.addr)
		require.ErrorContains(t, err, `servers[1] = "`+tc.addr+`" (from file `+p+`:1): must be a server`)
		require.ErrorContains(t, err, tc.why+" cannot be an NTP server")
	}
	c := Default()
	c.Servers = []string{"127.0.0.1", "::1", "192.0.2.1:10123", "[2001:db8::1]:123", "10.255.255.255"}
	c.Keep = []string{"198.51.100.255"}
	require.NoError(t, c.Validate(), "loopback, documentation and subnet-broadcast-looking unicast addresses are servers")
}

// TestStateDirMustBeAbsolute (issue 12, item 10): a relative state_dir
// depended on the working directory of each run.
func TestStateDirMustBeAbsolute(t *testing.T) {
	p := writeFile(t, "[paths]\nstate_dir = \"var/lib/ntp-optimizer\"\n")
	l, err := Load(p, true)
	require.NoError(t, err)
	require.EqualError(t, l.Validate(), `paths.state_dir = "var/lib/ntp-optimizer" (from file `+p+`:2): must be an absolute path`)
	require.ErrorContains(t, runFlags(t, "--state-dir", "./state"), `paths.state_dir = "./state" (from flag --state-dir): must be an absolute path`)
	require.ErrorContains(t, runFlags(t, "--state-dir", ""), `paths.state_dir = "" (from flag --state-dir): must be an absolute path`)
	require.NoError(t, runFlags(t, "--state-dir", "/var/tmp/ntp-optimizer"))
}

// FuzzConfigLoad is `make fuzz`'s target for the loader's size and
// duplicate-key paths: whatever the file holds, Load does not panic, an
// error names the file; a file over the cap is refused before it is
// parsed; and a document that sets keys without [section] headers, written
// twice, is refused for a duplicate key.
func FuzzConfigLoad(f *testing.F) {
	for _, s := range []string{
		"servers = [\"a.example\"]\n",
		"[selection]\nset_size = 2\nset_size = 3\n",
		"selection.set_size = 2\n[selection]\nmin_set_size = 1\n",
		"notifications = { email = { enabled = true } }\n",
		"[testing]\n[testing]\n",
		"keep = [\n\"a.example\",\n]\n# end",
		"[[x]]\n",
		"a = \"\\u0000\"\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	dir := f.TempDir() // one per worker process; its executions are sequential
	p := filepath.Join(dir, "c.toml")
	f.Fuzz(func(t *testing.T, doc []byte, oversize bool) {
		require.NoError(t, os.WriteFile(p, doc, 0o600))
		if oversize || len(doc) > MaxFileBytes {
			// The document, then (sparse) zero bytes past the cap.
			require.NoError(t, os.Truncate(p, int64(max(len(doc), MaxFileBytes+1))))
			_, err := Load(p, true)
			require.EqualError(t, err, "configuration file "+p+": larger than 1 MiB (1048576 bytes): not a configuration file")
			return
		}
		l, err := Load(p, true)
		if err != nil {
			require.Contains(t, err.Error(), p)
			return
		}
		_ = l.Validate()
		fromFile := 0
		for _, k := range Keys() {
			if l.Source(k.Path).Kind == "file" {
				fromFile++
			}
		}
		if fromFile == 0 || hasTableHeader(doc) {
			return
		}
		twice := append(append(append([]byte(nil), doc...), '\n'), doc...)
		require.NoError(t, os.WriteFile(p, twice, 0o600))
		_, err = Load(p, true)
		require.Error(t, err, "a document written twice sets its keys twice")
		require.Contains(t, err.Error(), "duplicate key")
	})
}

// hasTableHeader reports whether doc parses with a [table] or [[table]].
func hasTableHeader(doc []byte) bool {
	p := &unstable.Parser{}
	p.Reset(doc)
	for p.NextExpression() {
		if k := p.Expression().Kind; k == unstable.Table || k == unstable.ArrayTable {
			return true
		}
	}
	return p.Error() != nil
}

// TestCheckedAsApplyUsesThem (issue 12, item 9): values config check
// passed and apply (or probe) then refused, when the prober or the chronyd
// client validated what they were given: a spacing of 0, a chronyd UDP
// address that is no address, a socket path too long for a Unix socket.
func TestCheckedAsApplyUsesThem(t *testing.T) {
	p := writeFile(t, "[testing]\nspacing = 0\n[paths]\nchrony_address = \"127.0.0.1:323,localhost\"\nchrony_socket = \"/"+strings.Repeat("s", 120)+"\"\n")
	l, err := Load(p, true)
	require.NoError(t, err)
	err = l.Validate()
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "testing.spacing = 0s (from file "+p+":2): invalid prober configuration: spacing = 0s, want 1ms..1m")
	require.ErrorContains(t, err, `paths.chrony_address = "127.0.0.1:323,localhost" (from file `+p+`:4): must be IP addresses with optional ports, comma-separated: chrony address "localhost"`)
	require.ErrorContains(t, err, "paths.chrony_socket = \"/sss")
	require.ErrorContains(t, err, "(from file "+p+":5): must be a Unix socket path: chrony socket")
	c := l.Config
	require.Error(t, c.Prober().Validate(), "the prober refuses it too")
	require.Error(t, c.ChronyClient(true).Validate(), "the chronyd client refuses it too")

	c = Default()
	c.Testing.SamplesPerServer = 9
	require.Equal(t, 1, strings.Count(c.Validate().Error(), "samples_per_server"), "one error per key")

	d := Default()
	require.NoError(t, d.Prober().Validate())
	require.NoError(t, d.ChronyClient(true).Validate())
}

func TestLockDirMustBeAbsolute(t *testing.T) {
	require.ErrorContains(t, runFlags(t, "--lock-dir", "run/lock"), `paths.lock_dir = "run/lock" (from flag --lock-dir): must be an absolute path (or empty)`)
	require.NoError(t, runFlags(t, "--lock-dir", "/run/ntp-optimizer"))
}
