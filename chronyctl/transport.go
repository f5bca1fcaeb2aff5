package chronyctl

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// window bounds the requests in flight on one socket. Linux queues at most
// net.unix.max_dgram_qlen (default 10) datagrams on a Unix socket and
// chronyd drops a reply it cannot queue, so stay below that.
const window = 8

// transport sends requests over a connected datagram socket and matches
// replies to them by sequence number. One goroutine reads the socket, so
// several requests can be in flight at once (pipelining).
type transport struct {
	conn     net.Conn
	peer     string        // for messages: socket path or UDP address
	timeout  time.Duration // wait after the first transmission; doubles
	attempts int           // transmissions per request
	log      zerolog.Logger
	slots    chan struct{}

	mu      sync.Mutex
	pending map[uint32]*call
	done    chan struct{} // closed when the reader stops
	readErr error
}

// call is one request waiting for its reply.
type call struct {
	cmd     uint16
	replies chan []byte
	errs    chan error
}

func newTransport(conn net.Conn, peer string, timeout time.Duration, attempts int, log zerolog.Logger) *transport {
	t := &transport{
		conn: conn, peer: peer, timeout: timeout, attempts: attempts, log: log,
		slots:   make(chan struct{}, window),
		pending: make(map[uint32]*call),
		done:    make(chan struct{}),
	}
	go t.readLoop()
	return t
}

func (t *transport) readLoop() {
	buf := make([]byte, maxReplyLen)
	for {
		n, err := t.conn.Read(buf)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) { // UDP: ICMP port unreachable
				t.broadcast(err)
				continue
			}
			t.mu.Lock()
			t.readErr = err
			t.mu.Unlock()
			close(t.done)
			return
		}
		h, ok := parseReplyHeader(buf[:n])
		if !ok {
			t.log.Debug().Int("len", n).Msg("ignoring a datagram that is not a cmdmon reply")
			continue
		}
		t.mu.Lock()
		c := t.pending[h.sequence]
		t.mu.Unlock()
		if c == nil || c.cmd != h.command {
			t.log.Debug().Uint32("sequence", h.sequence).Uint16("command", h.command).Msg("ignoring a reply to no pending request")
			continue
		}
		select {
		case c.replies <- bytes.Clone(buf[:n]):
		default: // a duplicate; the first one is enough
		}
	}
}

// broadcast hands an asynchronous socket error to every pending request.
func (t *transport) broadcast(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.pending {
		select {
		case c.errs <- err:
		default:
		}
	}
}

// register files c under a fresh random sequence number.
func (t *transport) register(c *call) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		seq := rand.Uint32()
		if _, taken := t.pending[seq]; !taken {
			t.pending[seq] = c
			return seq
		}
	}
}

func (t *transport) unregister(seqs []uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range seqs {
		delete(t.pending, s)
	}
}

// retryCheck is called before a retransmission of a request that is not
// idempotent. done=true means the earlier transmission evidently took
// effect, so the request is not sent again.
type retryCheck func(ctx context.Context) (done bool, err error)

// exchange sends the request datagram req for cmd and returns the reply:
// up to t.attempts transmissions, each with a new random sequence number,
// waiting t.timeout, then twice as long, and so on, all within ctx. A
// reply to any of the transmissions counts, because all carry the same
// request. Replies with a wrong header, command or sequence are ignored, as
// are successful replies shorter than their type; a successful reply of a
// type not expected for cmd is an error. retransmitted reports whether more
// than one transmission was made.
func (t *transport) exchange(ctx context.Context, cmd uint16, req []byte, check retryCheck) (reply []byte, retransmitted bool, err error) {
	pkt := bytes.Clone(req)
	c := &call{cmd: cmd, replies: make(chan []byte, 4), errs: make(chan error, 1)}
	var seqs []uint32
	defer func() { t.unregister(seqs) }()
	start := time.Now()
	wait := t.timeout
	for attempt := range t.attempts {
		if attempt > 0 && check != nil {
			done, err := check(ctx)
			if err != nil {
				return nil, true, err
			}
			if done {
				return nil, true, nil
			}
		}
		seqs = append(seqs, t.register(c))
		binary.BigEndian.PutUint16(pkt[6:], uint16(attempt))
		binary.BigEndian.PutUint32(pkt[8:], seqs[len(seqs)-1])
		reply, err := t.transmit(ctx, c, pkt, wait)
		if reply != nil || err != nil {
			return reply, attempt > 0, err
		}
		wait *= 2
	}
	return nil, t.attempts > 1, &NoReplyError{Peer: t.peer, Command: commandName(cmd), Transmissions: t.attempts, Waited: time.Since(start)}
}

// transmit sends pkt once and waits up to wait for a valid reply. It
// returns nil, nil when the wait ran out.
func (t *transport) transmit(ctx context.Context, c *call, pkt []byte, wait time.Duration) ([]byte, error) {
	select {
	case t.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, t.ctxErr(ctx, c.cmd)
	}
	defer func() { <-t.slots }()
	if _, err := t.conn.Write(pkt); err != nil {
		return nil, t.sendError(c.cmd, err)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case r := <-c.replies:
			if ok, err := validReply(c.cmd, r); ok || err != nil {
				return r, err
			}
			t.log.Debug().Str("command", commandName(c.cmd)).Int("len", len(r)).Msg("ignoring a short reply")
		case err := <-c.errs:
			return nil, t.sendError(c.cmd, err)
		case <-timer.C:
			return nil, nil
		case <-ctx.Done():
			return nil, t.ctxErr(ctx, c.cmd)
		case <-t.done:
			t.mu.Lock()
			err := t.readErr
			t.mu.Unlock()
			if errors.Is(err, net.ErrClosed) {
				return nil, ErrClosed
			}
			return nil, fmt.Errorf("reading from chronyd at %s: %w", t.peer, err)
		}
	}
}

// validReply checks a reply already matched to cmd: error statuses are
// valid as they are (28 bytes); a success must carry a reply type expected
// for cmd, at its full length.
func validReply(cmd uint16, r []byte) (bool, error) {
	h, _ := parseReplyHeader(r)
	if h.status != 0 {
		return true, nil
	}
	if !slices.Contains(commands[cmd].replies, h.reply) {
		return false, &ReplyTypeError{Command: commandName(cmd), ReplyType: h.reply}
	}
	return len(r) >= replyLen[h.reply], nil
}

func (t *transport) ctxErr(ctx context.Context, cmd uint16) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &NoReplyError{Peer: t.peer, Command: commandName(cmd), Deadline: true, cause: ctx.Err()}
	}
	return fmt.Errorf("%s to chronyd at %s: %w", commandName(cmd), t.peer, ctx.Err())
}

func (t *transport) sendError(cmd uint16, err error) error {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
		return &DialError{Path: t.peer, Err: err,
			Msg: fmt.Sprintf("chronyd is not listening on %s (sending %s): is chronyd running?", t.peer, commandName(cmd))}
	}
	if errors.Is(err, net.ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("sending %s to chronyd at %s: %w", commandName(cmd), t.peer, err)
}
