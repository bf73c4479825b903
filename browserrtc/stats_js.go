package browserrtc

import (
	"context"
	"fmt"

	"github.com/hack-pad/safejs"

	"ringo/internal/jsutil"
)

// Stats is the part of getStats() that tests and the UI look at.
type Stats struct {
	AudioBytesReceived   uint64
	AudioPacketsReceived uint64
	VideoBytesReceived   uint64
	VideoPacketsReceived uint64
	BytesSent            uint64 // all outbound-rtp streams
	// AudioLevel is the loudest inbound audio's audioLevel (0..1, linear; 1 is 0 dBov),
	// for the speaking indicator.
	AudioLevel float64
	// LocalCandidateType and RemoteCandidateType are the candidateType ("host", "srflx",
	// "prflx", "relay") of the selected candidate pair; empty before one is selected.
	LocalCandidateType  string
	RemoteCandidateType string
}

// Stats reads getStats().
func (p *Peer) Stats(ctx context.Context) (Stats, error) {
	if err := p.alive(); err != nil {
		return Stats{}, err
	}
	report, err := awaitCall(ctx, p.js, "getStats")
	if err != nil {
		if ctx.Err() != nil {
			return Stats{}, ctx.Err()
		}
		return Stats{}, err
	}
	entries, err := reportEntries(report)
	if err != nil {
		return Stats{}, err
	}
	return statsFrom(entries), nil
}

// reportEntries returns the stats objects of an RTCStatsReport (a Map) by id.
func reportEntries(report safejs.Value) (map[string]safejs.Value, error) {
	values, err := call(report, "values")
	if err != nil {
		return nil, fmt.Errorf("browserrtc: stats report: %w", err)
	}
	array, err := safejs.Global().Get("Array")
	if err != nil {
		return nil, err
	}
	list, err := call(array, "from", values)
	if err != nil {
		return nil, fmt.Errorf("browserrtc: stats report: %w", err)
	}
	out := map[string]safejs.Value{}
	for _, s := range items(list) {
		out[jsutil.StringField(s, "id")] = s
	}
	return out, nil
}

// statsFrom sums the RTP counters and finds the selected candidate pair.
func statsFrom(entries map[string]safejs.Value) Stats {
	var st Stats
	pair := safejs.Undefined()
	for _, s := range entries {
		switch jsutil.StringField(s, "type") {
		case "inbound-rtp":
			switch jsutil.StringField(s, "kind") {
			case "audio":
				st.AudioBytesReceived += number(s, "bytesReceived")
				st.AudioPacketsReceived += number(s, "packetsReceived")
				if l := fraction(s, "audioLevel"); l > st.AudioLevel {
					st.AudioLevel = l
				}
			case "video":
				st.VideoBytesReceived += number(s, "bytesReceived")
				st.VideoPacketsReceived += number(s, "packetsReceived")
			}
		case "outbound-rtp":
			st.BytesSent += number(s, "bytesSent")
		case "transport":
			if sel, ok := entries[jsutil.StringField(s, "selectedCandidatePairId")]; ok {
				pair = sel
			}
		case "candidate-pair":
			if absent(pair) && boolean(s, "nominated") && jsutil.StringField(s, "state") == "succeeded" {
				pair = s
			}
		}
	}
	if !absent(pair) {
		st.LocalCandidateType = jsutil.StringField(entries[jsutil.StringField(pair, "localCandidateId")], "candidateType")
		st.RemoteCandidateType = jsutil.StringField(entries[jsutil.StringField(pair, "remoteCandidateId")], "candidateType")
	}
	return st
}
