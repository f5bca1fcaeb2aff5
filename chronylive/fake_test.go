package chronylive

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ntp-optimizer/ntp-optimizer/chronyctl"
	"github.com/ntp-optimizer/ntp-optimizer/internal/clock/clocktest"
)

// errDead is what a dead chronyd answers every request with.
var errDead = errors.New("chronyd's command socket /run/chrony/chronyd.sock: connection refused")

// fakeChronyd is chronyd as the backend sees it, at the level of meaning:
// a list of sources that answer (or not) some time after they are added,
// a selection, a leap status, and faults to inject. It records every
// change and the fewest reachable sources it ever had, so a test can
// state what chronyd's set was afterwards and that it never shrank.
type fakeChronyd struct {
	clock *clocktest.Stepper

	mu      sync.Mutex
	sources []*fakeSource
	calls   []string                     // "add ADDR" / "delete ADDR", in order
	adds    int                          // AddSource calls so far
	added   []chronyctl.AddSourceRequest // the requests chronyd took, in order
	low     int                          // fewest reachable sources after any change

	// Faults and behaviour.
	answerAfter time.Duration       // a new source answers this long after it is added
	silent      map[netip.Addr]bool // never answer
	falseticker map[netip.Addr]bool // answer, but chronyd marks them 'x'

	failAdd    map[int]error        // the n-th AddSource call (1-based) fails
	failDelete map[netip.Addr]error // DeleteSource of the address fails
	dieAfter   int                  // after this many AddSource calls chronyd is gone (0: never)
	dead       bool                 // every request fails with errDead
	noSelect   bool                 // chronyd never selects a source
	leap       chronyctl.LeapStatus // tracking's leap status

	// Names: a source added by name is ID#n until resolveAfter has passed,
	// then at resolve[lower-case name] (a name not there never resolves);
	// resolving to an address chronyd has already drops it, as chronyd's
	// NSR does.
	resolve      map[string]netip.Addr
	resolveAfter time.Duration
	nextID       uint32

	// authdata: a source added with nts, or in authNTS, is NTS; authErr
	// fails every AUTH_DATA (a chronyd without the request).
	authNTS   map[netip.Addr]bool
	authErr   error
	authCalls int

	// Auditions: with burst, a source added at runtime is polled as
	// iburst polls (a request at once and every 2 s, until 4 were
	// answered or 8 sent) and its samples grow with the answers; kod
	// makes an address answer every request with that kiss code;
	// noSelectOpts is a chronyd before 4.4 (MODIFY_SELECTOPTS unknown).
	burst        bool
	kod          map[netip.Addr]string
	unsync       map[netip.Addr]bool // answer unsynchronised (leap 3, stratum 0)
	noSelectOpts bool
	selectOpts   []string // "ADDR -noselect" per MODIFY_SELECTOPTS taken
	reselects    int
	bursts       []string // "MATCH good/total" per BURST taken
}

type fakeSource struct {
	addr    netip.Addr // invalid until a by-name source resolves
	port    uint32
	addedAt time.Time
	flags   uint32
	samples uint32 // sourcestats' sample count
	name    string // the name it was added by ("": its address)
	id      uint32 // its ID# while unresolved
	runtime bool   // added by AddSource (not one of newFake's)
}

// address is chronyd's address of s: its IP, or ID#n while unresolved.
func (s *fakeSource) address() chronyctl.Addr {
	if s.addr.IsValid() {
		return chronyctl.AddrFromIP(s.addr)
	}
	return chronyctl.IDAddr(s.id)
}

// newFake starts a chronyd with the given sources, all reachable, sampled
// enough to be judged.
func newFake(initial ...string) *fakeChronyd {
	f := &fakeChronyd{clock: clocktest.NewStepper(time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)),
		silent: map[netip.Addr]bool{}, falseticker: map[netip.Addr]bool{}, failAdd: map[int]error{}, failDelete: map[netip.Addr]error{},
		answerAfter: 2 * time.Second, resolve: map[string]netip.Addr{}, authNTS: map[netip.Addr]bool{},
		kod: map[netip.Addr]string{}, unsync: map[netip.Addr]bool{}}
	for _, a := range initial {
		f.sources = append(f.sources, &fakeSource{addr: netip.MustParseAddr(a), port: 123,
			addedAt: f.clock.Now().Add(-time.Hour), samples: 8})
	}
	f.low = len(initial)
	return f
}

func (f *fakeChronyd) reachable(s *fakeSource) bool {
	return s.addr.IsValid() && !f.silent[s.addr] && f.kod[s.addr] == "" && !f.unsync[s.addr] &&
		!f.clock.Now().Before(s.addedAt.Add(f.answerAfter))
}

// polls is how far an iburst of a source added at runtime has got (with
// burst): requests sent and answered so far.
func (f *fakeChronyd) polls(s *fakeSource) (sent, answered uint32) {
	t := f.clock.Now().Sub(s.addedAt)
	sent = min(8, 1+uint32(t/(2*time.Second)))
	if s.addr.IsValid() && !f.silent[s.addr] && t >= f.answerAfter {
		answered = min(sent, 1+uint32((t-f.answerAfter)/(2*time.Second)), 4)
		if answered == 4 {
			sent = min(sent, 4)
		}
	}
	return sent, answered
}

// resolveLocked resolves the by-name sources whose time has come; call
// with mu held.
func (f *fakeChronyd) resolveLocked() {
	for i := 0; i < len(f.sources); i++ {
		s := f.sources[i]
		a, ok := f.resolve[strings.ToLower(s.name)]
		if s.addr.IsValid() || !ok || f.clock.Now().Before(s.addedAt.Add(f.resolveAfter)) {
			continue
		}
		if f.index(a) >= 0 {
			f.sources = slices.Delete(f.sources, i, i+1)
			i--
			continue
		}
		s.addr = a
	}
}

// reachableCount counts the sources that answer now; call with mu held.
func (f *fakeChronyd) reachableCount() int {
	n := 0
	for _, s := range f.sources {
		if f.reachable(s) {
			n++
		}
	}
	return n
}

func (f *fakeChronyd) Sources(ctx context.Context) ([]chronyctl.Source, error) {
	return f.SourcesParts(ctx, chronyctl.PartAll)
}

func (f *fakeChronyd) SourcesParts(_ context.Context, parts chronyctl.Parts) ([]chronyctl.Source, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return nil, errDead
	}
	f.resolveLocked()
	f.low = min(f.low, f.reachableCount())
	var out []chronyctl.Source
	selected := false
	for i, s := range f.sources {
		src := chronyctl.Source{Index: i, Address: s.address(), Name: cmp.Or(s.name, s.addr.String()),
			Mode: chronyctl.ModeServer, State: chronyctl.StateUnusable, Stratum: 2, Poll: 6}
		noselect := s.flags&chronyctl.FlagNoSelect != 0
		samples, totalTx, totalRx := s.samples, uint32(8), uint32(8)
		bursting := f.burst && s.runtime
		if bursting {
			totalTx, totalRx = f.polls(s)
			samples = totalRx
			if f.kod[s.addr] != "" || f.unsync[s.addr] {
				samples = 0
			}
		}
		if f.reachable(s) {
			src.Reach = 0o377
			if bursting {
				src.Reach = uint8(1<<samples - 1)
			}
			src.State = chronyctl.StateNotCombined
			switch {
			case noselect:
				src.State = chronyctl.StateUnusable
			case f.falseticker[s.addr]:
				src.State = chronyctl.StateFalseticker
			case !selected && !f.noSelect:
				src.State, selected = chronyctl.StateSelected, true
			}
		}
		if parts&chronyctl.PartStats != 0 {
			src.Stats = chronyctl.SourceStats{Samples: samples, StdDev: 0.0002, EstOffset: 0.0001}
			src.Has.Stats = true
		}
		if parts&chronyctl.PartNTPData != 0 {
			src.NTP = chronyctl.NTPData{RemotePort: uint16(s.port), Stratum: 2, Delay: 0.004,
				RootDelay: 0.01, TotalTx: totalTx, TotalRx: totalRx, TotalValid: totalRx, RefID: 0xc0000201}
			if f.unsync[s.addr] && f.burst && s.runtime {
				// Answers, unsynchronised: no sample, no reach bit.
				sent, _ := f.polls(s)
				src.NTP.TotalTx, src.NTP.TotalRx, src.NTP.TotalValid = sent, sent, sent
				src.NTP.Leap, src.NTP.Stratum = 3, 0
			}
			if code := f.kod[s.addr]; code != "" && totalRx > 0 {
				src.NTP.Leap, src.NTP.Stratum = 3, 0
				src.NTP.RefID = uint32(code[0])<<24 | uint32(code[1])<<16 | uint32(code[2])<<8 | uint32(code[3])
			}
			src.Has.NTPData = true
		}
		if parts&chronyctl.PartSelect != 0 {
			if noselect {
				src.Select.ConfOptions, src.Select.EffOptions = chronyctl.SelectNoSelect, chronyctl.SelectNoSelect
			}
			src.Has.Select = true
		}
		out = append(out, src)
	}
	return out, nil
}

func (f *fakeChronyd) Tracking(context.Context) (chronyctl.Tracking, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return chronyctl.Tracking{}, errDead
	}
	return chronyctl.Tracking{Stratum: 3, Leap: f.leap}, nil
}

func (f *fakeChronyd) AddSource(_ context.Context, r chronyctl.AddSourceRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.adds++
	if f.dieAfter > 0 && f.adds > f.dieAfter {
		f.dead = true
	}
	if f.dead {
		return errDead
	}
	if err := f.failAdd[f.adds]; err != nil {
		return err
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("%w (%w)", chronyctl.ErrInvalid, err)
	}
	f.added = append(f.added, r)
	a, err := netip.ParseAddr(r.Name)
	if err != nil {
		// By name: chronyd takes it at once and resolves it later.
		f.nextID++
		f.sources = append(f.sources, &fakeSource{name: r.Name, id: f.nextID, port: r.Port, addedAt: f.clock.Now(), flags: r.Flags})
		f.calls = append(f.calls, "add "+r.Name)
		return nil
	}
	if f.index(a) >= 0 {
		f.added = f.added[:len(f.added)-1]
		return chronyctl.ErrSourceExists
	}
	f.sources = append(f.sources, &fakeSource{addr: a, port: r.Port, addedAt: f.clock.Now(), flags: r.Flags, runtime: true})
	f.calls = append(f.calls, "add "+a.String())
	return nil
}

func (f *fakeChronyd) DeleteSource(_ context.Context, a chronyctl.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return errDead
	}
	if err := f.failDelete[a.IP]; err != nil {
		return err
	}
	f.resolveLocked()
	i := slices.IndexFunc(f.sources, func(s *fakeSource) bool { return s.address() == a })
	if i < 0 {
		return chronyctl.ErrNoSuchSource
	}
	f.sources = slices.Delete(f.sources, i, i+1)
	f.calls = append(f.calls, "delete "+a.String())
	f.low = min(f.low, f.reachableCount())
	return nil
}

func (f *fakeChronyd) index(a netip.Addr) int {
	return slices.IndexFunc(f.sources, func(s *fakeSource) bool { return s.addr == a })
}

// AuthData is NTS for a source added with nts or in authNTS, else none;
// authErr fails it.
func (f *fakeChronyd) AuthData(_ context.Context, a chronyctl.Addr) (chronyctl.AuthData, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authCalls++
	switch {
	case f.dead:
		return chronyctl.AuthData{}, errDead
	case f.authErr != nil:
		return chronyctl.AuthData{}, f.authErr
	}
	i := slices.IndexFunc(f.sources, func(s *fakeSource) bool { return s.address() == a })
	if i < 0 {
		return chronyctl.AuthData{}, chronyctl.ErrNoSuchSource
	}
	s := f.sources[i]
	if s.flags&chronyctl.FlagNTS != 0 || f.authNTS[s.addr] {
		return chronyctl.AuthData{Mode: chronyctl.AuthNTS, KeyType: 30, KeyLength: 128, Cookies: 8, CookieLength: 64}, nil
	}
	return chronyctl.AuthData{Mode: chronyctl.AuthNone, LastKEAgo: chronyctl.NoKeyExchange}, nil
}

// set is chronyd's sources now, sorted, whatever state the fake is in.
func (f *fakeChronyd) set() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.sources {
		if s.addr.IsValid() {
			out = append(out, s.addr.String())
		} else {
			out = append(out, s.name)
		}
	}
	slices.Sort(out)
	return out
}

// lowest is the fewest reachable sources chronyd had after any change.
func (f *fakeChronyd) lowest() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.low
}

func (f *fakeChronyd) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// ModifySelectOpts turns noselect off (the only change the backend
// makes); noSelectOpts answers as chrony 4.3 does.
func (f *fakeChronyd) ModifySelectOpts(_ context.Context, a chronyctl.Addr, set, clear chronyctl.SelectOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.dead:
		return errDead
	case f.noSelectOpts:
		return fmt.Errorf("selectopts %s: %w", a, chronyctl.ErrUnsupported)
	}
	i := slices.IndexFunc(f.sources, func(s *fakeSource) bool { return s.address() == a })
	if i < 0 {
		return chronyctl.ErrNoSuchSource
	}
	if set&chronyctl.SelectNoSelect != 0 {
		f.sources[i].flags |= chronyctl.FlagNoSelect
	}
	if clear&chronyctl.SelectNoSelect != 0 {
		f.sources[i].flags &^= chronyctl.FlagNoSelect
		f.selectOpts = append(f.selectOpts, a.String()+" -noselect")
	}
	return nil
}

// Burst records a burst request (the only one the backend sends is one
// sample after a promotion).
func (f *fakeChronyd) Burst(_ context.Context, m chronyctl.Match, good, total int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return errDead
	}
	f.bursts = append(f.bursts, fmt.Sprintf("%s %d/%d", m, good, total))
	return nil
}

func (f *fakeChronyd) Reselect(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return errDead
	}
	f.reselects++
	return nil
}

// noselect lists the sources chronyd has with noselect now, sorted.
func (f *fakeChronyd) noselect() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.sources {
		if s.flags&chronyctl.FlagNoSelect != 0 {
			out = append(out, s.addr.String())
		}
	}
	slices.Sort(out)
	return out
}
