package chronyctl

import (
	"encoding/binary"
	"fmt"
)

// Protocol constants from candm.h (protocol version 6, chrony 4.0 to 4.8).
const (
	protoVersion   = 6
	pktTypeRequest = 1
	pktTypeReply   = 2

	requestHeaderLen = 20  // CMD_Request header
	replyHeaderLen   = 28  // CMD_Reply header
	maxRequestLen    = 860 // sizeof(CMD_Request) in every 4.x release
	maxReplyLen      = 1024
)

// Request codes (candm.h REQ_*).
const (
	cmdOnline           uint16 = 1
	cmdOffline          uint16 = 2
	cmdBurst            uint16 = 3
	cmdNSources         uint16 = 14
	cmdSourceData       uint16 = 15
	cmdDelSource        uint16 = 29
	cmdTracking         uint16 = 33
	cmdSourceStats      uint16 = 34
	cmdActivity         uint16 = 44
	cmdReselect         uint16 = 48
	cmdRefresh          uint16 = 53
	cmdNTPData          uint16 = 57
	cmdAddSource        uint16 = 64
	cmdNTPSourceName    uint16 = 65
	cmdSelectData       uint16 = 69
	cmdReloadSources    uint16 = 70
	cmdModifySelectOpts uint16 = 72
)

// Reply codes (candm.h RPY_*).
const (
	rpyNull          uint16 = 1
	rpyNSources      uint16 = 2
	rpySourceData    uint16 = 3
	rpyTracking      uint16 = 5
	rpySourceStats   uint16 = 6
	rpyActivity      uint16 = 12
	rpyNTPData       uint16 = 16 // chrony <= 4.5
	rpyNTPSourceName uint16 = 19
	rpySelectData    uint16 = 23
	rpyNTPData2      uint16 = 26 // chrony >= 4.6
)

// replyLen is the datagram length of each reply type (pktlength.c).
var replyLen = map[uint16]int{
	rpyNull:          28,
	rpyNSources:      32,
	rpySourceData:    76,
	rpyTracking:      104,
	rpySourceStats:   84,
	rpyActivity:      48,
	rpyNTPData:       152,
	rpyNTPSourceName: 284,
	rpySelectData:    76,
	rpyNTPData2:      172,
}

// commandInfo describes one request this package sends.
type commandInfo struct {
	name string // candm.h name without REQ_, for messages
	// length is the request length: the body's end, raised to the
	// longest reply any known release sends for it, because chronyd drops a
	// reply longer than its request (pktlength.c).
	length int
	// replies are the reply types a successful answer may carry.
	replies []uint16
	// idempotent is false when a retransmission can change chronyd's state
	// a second time (ADD_SOURCE by name makes a second source) or be
	// answered differently (ADD_SOURCE 511, DEL_SOURCE 503).
	idempotent bool
}

var commands = map[uint16]commandInfo{
	cmdOnline:           {"ONLINE", 60, []uint16{rpyNull}, true},
	cmdOffline:          {"OFFLINE", 60, []uint16{rpyNull}, true},
	cmdBurst:            {"BURST", 68, []uint16{rpyNull}, true},
	cmdNSources:         {"N_SOURCES", 32, []uint16{rpyNSources}, true},
	cmdSourceData:       {"SOURCE_DATA", 76, []uint16{rpySourceData}, true},
	cmdDelSource:        {"DEL_SOURCE", 40, []uint16{rpyNull}, false},
	cmdTracking:         {"TRACKING", 104, []uint16{rpyTracking}, true},
	cmdSourceStats:      {"SOURCESTATS", 84, []uint16{rpySourceStats}, true},
	cmdActivity:         {"ACTIVITY", 48, []uint16{rpyActivity}, true},
	cmdReselect:         {"RESELECT", 28, []uint16{rpyNull}, true},
	cmdRefresh:          {"REFRESH", 28, []uint16{rpyNull}, true},
	cmdNTPData:          {"NTP_DATA", 172, []uint16{rpyNTPData, rpyNTPData2}, true},
	cmdAddSource:        {"ADD_SOURCE", 372, []uint16{rpyNull}, false},
	cmdNTPSourceName:    {"NTP_SOURCE_NAME", 284, []uint16{rpyNTPSourceName}, true},
	cmdSelectData:       {"SELECT_DATA", 76, []uint16{rpySelectData}, true},
	cmdReloadSources:    {"RELOAD_SOURCES", 28, []uint16{rpyNull}, true},
	cmdModifySelectOpts: {"MODIFY_SELECTOPTS", 52, []uint16{rpyNull}, true},
}

// commandName names a request code for messages.
func commandName(cmd uint16) string {
	if ci, ok := commands[cmd]; ok {
		return ci.name
	}
	return fmt.Sprintf("command %d", cmd)
}

// newRequest returns a request datagram for cmd: the header (sequence and
// attempt are filled in per transmission), then body, then zero padding up
// to the command's length.
func newRequest(cmd uint16, body []byte) []byte {
	n := requestHeaderLen + len(body)
	if ci, ok := commands[cmd]; ok && ci.length > n {
		n = ci.length
	}
	b := make([]byte, n)
	b[0] = protoVersion
	b[1] = pktTypeRequest
	binary.BigEndian.PutUint16(b[4:], cmd)
	copy(b[requestHeaderLen:], body)
	return b
}

// replyHeader is the decoded CMD_Reply header.
type replyHeader struct {
	command  uint16
	reply    uint16
	status   uint16
	sequence uint32
}

// parseReplyHeader decodes and checks the fixed parts of a reply header, as
// chronyc does: a datagram that fails is not a reply to anything we sent.
func parseReplyHeader(b []byte) (replyHeader, bool) {
	if len(b) < replyHeaderLen || b[0] != protoVersion || b[1] != pktTypeReply || b[2] != 0 || b[3] != 0 {
		return replyHeader{}, false
	}
	return replyHeader{
		command:  binary.BigEndian.Uint16(b[4:]),
		reply:    binary.BigEndian.Uint16(b[6:]),
		status:   binary.BigEndian.Uint16(b[8:]),
		sequence: binary.BigEndian.Uint32(b[16:]),
	}, true
}
