package chronyctl

import "time"

// NoSample is Source.LastRx when chronyd has no good sample from a source.
const NoSample = 0xFFFFFFFF

// Source is chronyd's view of one source, merged from its SOURCE_DATA,
// SOURCESTATS, NTP_DATA, SELECT_DATA and NTP_SOURCE_NAME replies. Has says
// which of the optional parts chronyd answered: reference clocks and
// unresolved (ID#) sources have no ntpdata, and over UDP chronyd refuses
// ntpdata and selectdata. Absent parts are left zero. Times are seconds.
type Source struct {
	Index   int    `json:"index"`   // position in chronyd's source list
	Address Addr   `json:"address"` // IP, or ID#n while unresolved; unspecified for a refclock
	Name    string `json:"name"`    // the configured name; a refclock's refid as text
	RefID   uint32 `json:"ref_id,omitempty"`

	// From SOURCE_DATA (always present).
	Mode           Mode    `json:"mode"`
	State          State   `json:"state"`
	Poll           int     `json:"poll"`              // log2 of the polling interval in seconds
	Stratum        int     `json:"stratum"`           // 0 until a sample arrived
	Reach          uint8   `json:"reach"`             // reachability register, last 8 polls
	LastRx         uint32  `json:"last_rx_s"`         // seconds since the last good sample, NoSample if none
	Offset         float64 `json:"offset_s"`          // last sample's offset, adjusted for later clock changes
	MeasuredOffset float64 `json:"measured_offset_s"` // last sample's offset as measured
	OffsetError    float64 `json:"offset_error_s"`    // its estimated error (the "+/-")

	Stats  SourceStats `json:"stats"`
	NTP    NTPData     `json:"ntp"`
	Select SelectData  `json:"select"`
	Has    Has         `json:"has"`
}

// Has records which optional parts of a Source chronyd answered.
type Has struct {
	Stats   bool `json:"stats"`
	NTPData bool `json:"ntp"`
	Select  bool `json:"select"`
	Name    bool `json:"name"`
}

// SourceStats is chronyd's regression over a source's samples
// (RPY_SOURCESTATS, chronyc sourcestats).
type SourceStats struct {
	Samples      uint32  `json:"samples"`        // NP: sample points in the set
	Runs         uint32  `json:"runs"`           // NR: runs of residuals with the same sign
	Span         uint32  `json:"span_s"`         // seconds covered by the samples
	StdDev       float64 `json:"std_dev_s"`      // standard deviation of the offsets: the jitter
	ResidFreqPPM float64 `json:"resid_freq_ppm"` // residual frequency
	SkewPPM      float64 `json:"skew_ppm"`       // error bound of the frequency
	EstOffset    float64 `json:"est_offset_s"`   // estimated offset
	EstOffsetErr float64 `json:"est_offset_err_s"`
}

// NTPData is the last NTP exchange with a source (RPY_NTP_DATA, chronyc
// ntpdata). TotalGood exists from chrony 4.3 on, the last four counters
// from 4.6 on.
type NTPData struct {
	LocalAddr       Addr      `json:"local_addr"`
	RemotePort      uint16    `json:"remote_port"`
	Leap            uint8     `json:"leap"` // 0 normal, 1 insert, 2 delete, 3 unsynchronised
	Version         uint8     `json:"version"`
	Mode            uint8     `json:"mode"` // NTP mode of the reply (4 server)
	Stratum         uint8     `json:"stratum"`
	Poll            int8      `json:"poll"`
	Precision       int8      `json:"precision"`
	RootDelay       float64   `json:"root_delay_s"`
	RootDispersion  float64   `json:"root_dispersion_s"`
	RefID           uint32    `json:"ref_id"`
	RefTime         time.Time `json:"ref_time"`
	Offset          float64   `json:"offset_s"`
	Delay           float64   `json:"delay_s"` // round-trip delay of the last exchange
	Dispersion      float64   `json:"dispersion_s"`
	ResponseTime    float64   `json:"response_time_s"`
	JitterAsymmetry float64   `json:"jitter_asymmetry"`
	Tests           uint16    `json:"tests"` // the ten test bits, 1 = passed
	Interleaved     bool      `json:"interleaved"`
	Authenticated   bool      `json:"authenticated"`
	TxTimestamping  string    `json:"tx_timestamping"` // D daemon, K kernel, H hardware
	RxTimestamping  string    `json:"rx_timestamping"`
	TotalTx         uint32    `json:"total_tx"`
	TotalRx         uint32    `json:"total_rx"`
	TotalValid      uint32    `json:"total_valid"`
	TotalGood       uint32    `json:"total_good"`
	TotalKernelTx   uint32    `json:"total_kernel_tx"`
	TotalKernelRx   uint32    `json:"total_kernel_rx"`
	TotalHWTx       uint32    `json:"total_hw_tx"`
	TotalHWRx       uint32    `json:"total_hw_rx"`
}

// SelectData is the source selection's view of a source (RPY_SELECT_DATA,
// chronyc selectdata).
type SelectData struct {
	StateChar     string        `json:"state_char"` // e.g. "*", "+", "N", "x"; see chronyc selectdata -v
	Authenticated bool          `json:"authenticated"`
	Leap          uint8         `json:"leap"`
	ConfOptions   SelectOptions `json:"conf_options"`
	EffOptions    SelectOptions `json:"eff_options"`
	LastSampleAgo uint32        `json:"last_sample_ago_s"`
	Score         float64       `json:"score"`
	LoLimit       float64       `json:"lo_limit_s"`
	HiLimit       float64       `json:"hi_limit_s"`
}

// Activity counts chronyd's sources by state (RPY_ACTIVITY, chronyc
// activity).
type Activity struct {
	Online       int `json:"online"`
	Offline      int `json:"offline"`
	BurstOnline  int `json:"burst_online"`
	BurstOffline int `json:"burst_offline"`
	Unresolved   int `json:"unresolved"`
}
