package chronyctl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// sourceOption is one chrony `server` option (chrony.conf(5)) and how it
// sets the ADD_SOURCE request, so the same words mean the same thing in
// the sources file and in a live add.
type sourceOption struct {
	flag  uint32                                    // a flag option sets this bit
	value func(r *AddSourceRequest, v string) error // an option with a value
}

func intOpt(set func(r *AddSourceRequest, n int64)) func(*AddSourceRequest, string) error {
	return func(r *AddSourceRequest, v string) error {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return fmt.Errorf("want an integer, got %q", v)
		}
		set(r, n)
		return nil
	}
}

func floatOpt(set func(r *AddSourceRequest, f float64)) func(*AddSourceRequest, string) error {
	return func(r *AddSourceRequest, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("want a number, got %q", v)
		}
		set(r, f)
		return nil
	}
}

// sourceOptions are the options the agent accepts in chrony.source_options.
var sourceOptions = map[string]sourceOption{
	"iburst":           {flag: FlagIBurst},
	"burst":            {flag: FlagBurst},
	"prefer":           {flag: FlagPrefer},
	"noselect":         {flag: FlagNoSelect},
	"trust":            {flag: FlagTrust},
	"require":          {flag: FlagRequire},
	"xleave":           {flag: FlagInterleaved},
	"nts":              {flag: FlagNTS},
	"auto_offline":     {flag: FlagAutoOffline},
	"copy":             {flag: FlagCopy},
	"minpoll":          {value: intOpt(func(r *AddSourceRequest, n int64) { r.MinPoll = int32(n) })},
	"maxpoll":          {value: intOpt(func(r *AddSourceRequest, n int64) { r.MaxPoll = int32(n) })},
	"polltarget":       {value: intOpt(func(r *AddSourceRequest, n int64) { r.PollTarget = uint32(n) })},
	"presend":          {value: intOpt(func(r *AddSourceRequest, n int64) { r.PresendMinPoll = int32(n) })},
	"minstratum":       {value: intOpt(func(r *AddSourceRequest, n int64) { r.MinStratum = uint32(n) })},
	"minsamples":       {value: intOpt(func(r *AddSourceRequest, n int64) { r.MinSamples = int32(n) })},
	"maxsamples":       {value: intOpt(func(r *AddSourceRequest, n int64) { r.MaxSamples = int32(n) })},
	"filter":           {value: intOpt(func(r *AddSourceRequest, n int64) { r.FilterLength = int32(n) })},
	"version":          {value: intOpt(func(r *AddSourceRequest, n int64) { r.Version = uint32(n) })},
	"key":              {value: intOpt(func(r *AddSourceRequest, n int64) { r.AuthKey = uint32(n) })},
	"ntsport":          {value: intOpt(func(r *AddSourceRequest, n int64) { r.NTSPort = uint32(n) })},
	"certset":          {value: intOpt(func(r *AddSourceRequest, n int64) { r.CertSet = uint32(n) })},
	"maxdelay":         {value: floatOpt(func(r *AddSourceRequest, f float64) { r.MaxDelay = f })},
	"maxdelayratio":    {value: floatOpt(func(r *AddSourceRequest, f float64) { r.MaxDelayRatio = f })},
	"maxdelaydevratio": {value: floatOpt(func(r *AddSourceRequest, f float64) { r.MaxDelayDevRatio = f })},
	"maxdelayquant":    {value: floatOpt(func(r *AddSourceRequest, f float64) { r.MaxDelayQuant = f })},
	"mindelay":         {value: floatOpt(func(r *AddSourceRequest, f float64) { r.MinDelay = f })},
	"asymmetry":        {value: floatOpt(func(r *AddSourceRequest, f float64) { r.Asymmetry = f })},
	"offset":           {value: floatOpt(func(r *AddSourceRequest, f float64) { r.Offset = f })},
}

// SetOptions sets the chrony `server` options in opts (chrony.conf(5)
// syntax, e.g. "iburst minpoll 4") on r. Anything it does not know, a
// missing value, a newline, NUL or '#' is an error, so the same string is
// safe to write into a sources file. `port` is not accepted: the port is
// the candidate's own.
func (r *AddSourceRequest) SetOptions(opts string) error {
	if strings.ContainsAny(opts, "\n\r#\x00") {
		return errors.New("contains a newline, NUL or '#'")
	}
	fields := strings.Fields(opts)
	for i := 0; i < len(fields); i++ {
		o, ok := sourceOptions[fields[i]]
		if !ok {
			return fmt.Errorf("unknown or unsupported chrony option %q", fields[i])
		}
		if o.value == nil {
			r.Flags |= o.flag
			continue
		}
		if i+1 == len(fields) {
			return fmt.Errorf("%s needs a value", fields[i])
		}
		if err := o.value(r, fields[i+1]); err != nil {
			return fmt.Errorf("%s: %w", fields[i], err)
		}
		i++
	}
	return nil
}

// ValidateSourceOptions checks a source options string as SetOptions and
// a server's ADD_SOURCE would see it (the config key
// chrony.source_options).
func ValidateSourceOptions(opts string) error {
	r := NewAddSource(TypeServer, "192.0.2.1")
	if err := r.SetOptions(opts); err != nil {
		return err
	}
	return r.Validate()
}
