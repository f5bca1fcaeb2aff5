// Package config is ntp-optimizer's configuration: the file
// /etc/ntp-optimizer/config.toml with the seed's sections (testing,
// selection, geographic, notifications, logging) plus servers, keep, policy
// and paths.
//
// Every key is also a command-line flag and an NTP_OPTIMIZER_* environment
// variable. The effective value of a key comes from, in order of
// precedence: a flag, the environment, the file, the built-in default. Each
// value remembers where it came from, so `ntp-optimizer config show` can say
// so, and an error names the file and line of a bad value together with the
// allowed values.
//
// The keys are the tagged fields of Config: `toml` is the key's name in its
// section, `flag` its flag (the environment variable is derived from it:
// --weight-jitter ↔ NTP_OPTIMIZER_WEIGHT_JITTER), `usage` the help text and,
// for durations, `unit` the unit of a bare number (interval_hours = 6 means
// six hours, timeout = 5 five seconds).
package config
