package notify

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// maxPasswordFile caps the size of password_file: a password is a line.
const maxPasswordFile = 4096

// ErrPasswordExposed is returned when the SMTP password sits in a
// configuration file that others than its owner can read.
var ErrPasswordExposed = errors.New("smtp password in a configuration file others can read")

// PasswordSource tells ResolvePassword where the configuration came from.
// The config loader fills it; tests inject Getenv and ReadFile.
type PasswordSource struct {
	// ConfigFile is the path of the file the configuration was read from
	// ("" when none), and ConfigMode its mode as stat reported it.
	ConfigFile string
	ConfigMode fs.FileMode
	// Getenv defaults to os.Getenv.
	Getenv func(string) string
	// Stat and ReadFile default to os.Stat and os.ReadFile.
	Stat     func(string) (fs.FileInfo, error)
	ReadFile func(string) ([]byte, error)
}

// ResolvePassword returns the SMTP password and where it came from:
// NTP_OPTIMIZER_SMTP_PASSWORD first, then password_file, then the password
// key of the configuration file. A password in a configuration file is
// refused (ErrPasswordExposed) unless the file is readable by its owner only
// (mode 0600 or 0400), even when the environment supplies one: the file
// would still leak it. password_file must be owner-only too.
func (e EmailConfig) ResolvePassword(src PasswordSource) (password, from string, err error) {
	getenv, stat, readFile := src.Getenv, src.Stat, src.ReadFile
	if getenv == nil {
		getenv = os.Getenv
	}
	if stat == nil {
		stat = os.Stat
	}
	if readFile == nil {
		readFile = os.ReadFile
	}
	if e.Password != "" && src.ConfigMode.Perm()&0o077 != 0 {
		file := src.ConfigFile
		if file == "" {
			file = "the configuration file"
		}
		return "", "", fmt.Errorf("%w: notifications.email.password is set in %s, which is mode %04o: run 'chmod 600 %s', or move the password to password_file or the %s environment variable",
			ErrPasswordExposed, file, src.ConfigMode.Perm(), file, PasswordEnv)
	}
	if v := getenv(PasswordEnv); v != "" {
		return v, "environment variable " + PasswordEnv, nil
	}
	if e.PasswordFile != "" {
		fi, err := stat(e.PasswordFile)
		if err != nil {
			return "", "", fmt.Errorf("notifications.email.password_file: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return "", "", fmt.Errorf("%w: notifications.email.password_file %s is mode %04o: run 'chmod 600 %s'",
				ErrPasswordExposed, e.PasswordFile, fi.Mode().Perm(), e.PasswordFile)
		}
		if fi.Size() > maxPasswordFile {
			return "", "", fmt.Errorf("notifications.email.password_file %s is %d bytes; a password file holds one line", e.PasswordFile, fi.Size())
		}
		b, err := readFile(e.PasswordFile)
		if err != nil {
			return "", "", fmt.Errorf("notifications.email.password_file: %w", err)
		}
		pw := strings.TrimRight(string(b), "\r\n")
		if pw == "" || strings.ContainsAny(pw, "\r\n") {
			return "", "", fmt.Errorf("notifications.email.password_file %s: want the password alone on one line", e.PasswordFile)
		}
		return pw, "password_file " + e.PasswordFile, nil
	}
	if e.Password != "" {
		return e.Password, "configuration file", nil
	}
	if e.Username != "" {
		return "", "", fmt.Errorf("notifications.email.username is set but no password: set %s, password_file, or password in a mode 0600 configuration file", PasswordEnv)
	}
	return "", "", nil
}
