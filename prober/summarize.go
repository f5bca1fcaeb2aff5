package prober

// Summarize fills r's per-address fields (offset, delay, jitter, the root
// values and stratum of the lowest-delay usable sample, the counts, the
// kiss code, NoRoute) from r.Samples exactly as Probe does: for a Result
// built from other samples, such as an NTS pre-flight's authenticated ones
// (NTSResult.Samples).
func Summarize(r *Result) { summarize(r) }
