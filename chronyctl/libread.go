package chronyctl

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/facebook/time/ntp/chrony"
)

// libExchange is the io.ReadWriter the library's chrony.Client talks
// through: Write runs one validated, retried exchange on the Client's
// transport and Read hands over the reply. It keeps the typed error (the
// library would flatten a status into a string).
type libExchange struct {
	ctx   context.Context
	c     *Client
	reply []byte
	err   error
}

func (x *libExchange) Write(b []byte) (int, error) {
	if len(b) < requestHeaderLen {
		x.err = fmt.Errorf("request of %d bytes is shorter than a header", len(b))
		return 0, x.err
	}
	cmd := binary.BigEndian.Uint16(b[4:])
	x.reply, _, x.err = x.c.doRaw(x.ctx, cmd, b, nil)
	if x.err != nil {
		return 0, x.err
	}
	return len(b), nil
}

func (x *libExchange) Read(p []byte) (int, error) {
	if x.reply == nil {
		return 0, errors.New("no reply to read")
	}
	return copy(p, x.reply), nil
}

// read sends a request built by the library and decodes the reply with it;
// T is the reply type expected. Only a successful reply of a type expected
// for the command reaches the library's decoder (the transport checks
// that), so its decoding errors are not expected.
func read[T chrony.ResponsePacket](ctx context.Context, c *Client, req chrony.RequestPacket) (T, error) {
	r, _, err := readRaw[T](ctx, c, req)
	return r, err
}

// readRaw is read also returning the reply datagram, for fields the
// library does not decode.
func readRaw[T chrony.ResponsePacket](ctx context.Context, c *Client, req chrony.RequestPacket) (T, []byte, error) {
	var zero T
	x := &libExchange{ctx: ctx, c: c}
	lc := chrony.Client{Connection: x}
	resp, err := lc.Communicate(req)
	if x.err != nil {
		return zero, nil, x.err
	}
	name := commandName(uint16(req.GetCommand()))
	if err != nil {
		return zero, nil, fmt.Errorf("decoding chronyd's %s reply: %w", name, err)
	}
	r, ok := resp.(T)
	if !ok {
		return zero, nil, &ReplyTypeError{Command: name, ReplyType: uint16(resp.GetType())}
	}
	return r, x.reply, nil
}
