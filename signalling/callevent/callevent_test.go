package callevent_test

import (
	_ "embed"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/matryer/is"
	"github.com/pion/webrtc/v3"

	"ringo/signalling/callevent"
)

// The examples of seed 001 (the spec's m.call.* examples as of MSC2746).
//
//go:embed testdata/seed001_examples.json
var seedExamples []byte

func TestSpecExamplesParseValidateAndRoundTrip(t *testing.T) {
	var examples map[string]json.RawMessage
	is.New(t).NoErr(json.Unmarshal(seedExamples, &examples))
	if len(examples) != 7 {
		t.Fatalf("want the 7 examples of seed 001, got %d", len(examples))
	}
	for typ, raw := range examples {
		t.Run(typ, func(t *testing.T) {
			is := is.New(t)
			c, err := callevent.Parse(typ, raw)
			is.NoErr(err)
			is.Equal(c.EventType().Type, typ)
			is.NoErr(callevent.Validate(c))
			b := c.CallBase()
			is.Equal(b.CallID, "12345")
			is.Equal(b.PartyID, "67890")
			is.Equal(b.Version, callevent.V1)
			out, err := json.Marshal(c)
			is.NoErr(err)
			again, err := callevent.Parse(typ, out)
			is.NoErr(err)
			is.Equal(again, c) // nothing lost or invented on the way round
			if typ == "m.call.negotiate" {
				// seed 001's example says "offer"; we read it and write "description".
				is.True(strings.Contains(string(out), `"description":{"type":"offer"`))
				is.Equal(again.(*callevent.Negotiate).Description.Type, "offer")
			}
		})
	}
}

func TestVersionIsWrittenAsTheString1AndReadTolerantly(t *testing.T) {
	tests := []struct {
		rule string
		json string
		want callevent.Version
	}{
		{"the integer 0 is version 0", `0`, callevent.V0},
		{"the string \"0\" is version 0", `"0"`, callevent.V0},
		{"a missing version is version 0", ``, callevent.V0},
		{"null is version 0", `null`, callevent.V0},
		{"the string \"1\" is version 1", `"1"`, callevent.V1},
		{"the integer 1 is version 1", `1`, callevent.V1},
		{"any other string counts as \"1\"", `"2-experimental"`, callevent.V1},
		{"any other number counts as \"1\"", `1.5`, callevent.V1},
		{"any other JSON type counts as \"1\"", `true`, callevent.V1},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			is := is.New(t)
			content := `{"call_id":"c1","party_id":"p1","reason":"user_hangup"}`
			if tc.json != "" {
				content = `{"call_id":"c1","party_id":"p1","reason":"user_hangup","version":` + tc.json + `}`
			}
			c, err := callevent.Parse("m.call.hangup", []byte(content))
			is.NoErr(err)
			is.Equal(c.CallBase().Version, tc.want)
		})
	}
	t.Run("version 1 goes out as the string \"1\", version 0 as 0", func(t *testing.T) {
		is := is.New(t)
		b, _ := json.Marshal(callevent.Reject{Base: callevent.Base{CallID: "c", PartyID: "p", Version: callevent.V1}})
		is.True(strings.Contains(string(b), `"version":"1"`))
		b, _ = json.Marshal(callevent.Reject{Base: callevent.Base{CallID: "c", Version: callevent.V0}})
		is.True(strings.Contains(string(b), `"version":0`))
		is.Equal(callevent.V1.String(), "1")
		is.Equal(callevent.V0.String(), "0")
	})
}

func TestBadContentIsRejectedNamingTheField(t *testing.T) {
	offer := `"offer":{"type":"offer","sdp":"v=0"}`
	tests := []struct {
		rule, typ, content, field string
	}{
		{"content must be JSON", "m.call.invite", `{"call_id":`, ""},
		{"content must be an object, not null", "m.call.hangup", `null`, ""},
		{"content must be an object, not an array", "m.call.hangup", `[]`, ""},
		{"call_id is required", "m.call.hangup", `{"version":"1","party_id":"p"}`, "call_id"},
		{"call_id must be a string", "m.call.hangup", `{"call_id":5}`, "call_id"},
		{"call_id must follow the id grammar", "m.call.hangup", `{"call_id":"a b","version":"1"}`, "call_id"},
		{"call_id is at most 255 characters", "m.call.hangup", `{"call_id":"` + strings.Repeat("x", 256) + `"}`, "call_id"},
		{"party_id must follow the id grammar", "m.call.reject", `{"call_id":"c","party_id":"p/1","version":"1"}`, "party_id"},
		{"an invite needs an offer SDP", "m.call.invite", `{"call_id":"c","version":"1","lifetime":1}`, "offer.sdp"},
		{"lifetime must be a number", "m.call.invite", `{"call_id":"c","lifetime":"soon",` + offer + `}`, "lifetime"},
		{"lifetime must not be negative", "m.call.invite", `{"call_id":"c","lifetime":-1,` + offer + `}`, "lifetime"},
		{"invitee must be a user id", "m.call.invite", `{"call_id":"c","lifetime":1,"invitee":"bob",` + offer + `}`, "invitee"},
		{"the SDP must be a string", "m.call.invite", `{"call_id":"c","lifetime":1,"offer":{"type":"offer","sdp":7}}`, "offer.sdp"},
		{"an answer needs an answer SDP", "m.call.answer", `{"call_id":"c","version":"1"}`, "answer.sdp"},
		{"candidates are required", "m.call.candidates", `{"call_id":"c","version":"1"}`, "candidates"},
		{"each candidate needs its candidate field", "m.call.candidates", `{"call_id":"c","candidates":[{"candidate":"a"},{"sdpMid":"0"}]}`, "candidates[1].candidate"},
		{"sdpMLineIndex must be a small number", "m.call.candidates", `{"call_id":"c","candidates":[{"candidate":"a","sdpMLineIndex":-1}]}`, "candidates.sdpMLineIndex"},
		{"select_answer needs a valid selected_party_id", "m.call.select_answer", `{"call_id":"c","party_id":"p"}`, "selected_party_id"},
		{"negotiate needs a description", "m.call.negotiate", `{"call_id":"c","party_id":"p","lifetime":1}`, "description.sdp"},
		{"negotiate's description is an offer or an answer", "m.call.negotiate", `{"call_id":"c","description":{"type":"pranswer","sdp":"v=0"}}`, "description.type"},
		{"negotiate lifetime must not be negative", "m.call.negotiate", `{"call_id":"c","lifetime":-5,"description":{"type":"offer","sdp":"v=0"}}`, "lifetime"},
		{"metadata must be an object of streams", "m.call.sdp_stream_metadata_changed", `{"call_id":"c","sdp_stream_metadata":[1]}`, "sdp_stream_metadata"},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			is := is.New(t)
			c, err := callevent.Parse(tc.typ, []byte(tc.content))
			is.True(c == nil)
			is.True(errors.Is(err, callevent.ErrInvalidContent))
			var fe *callevent.FieldError
			is.True(errors.As(err, &fe))
			is.Equal(fe.Field, tc.field)
			is.Equal(fe.EventType, tc.typ)
			is.True(strings.Contains(err.Error(), tc.typ))
		})
	}
}

func TestUnknownTypesAreNotCallEvents(t *testing.T) {
	is := is.New(t)
	_, err := callevent.Parse("m.room.message", []byte(`{}`))
	is.True(errors.Is(err, callevent.ErrUnknownEventType))
	is.True(!callevent.IsCallEventType("m.room.message"))
	for _, typ := range []string{"m.call.invite", "m.call.candidates", "m.call.answer", "m.call.select_answer",
		"m.call.reject", "m.call.negotiate", "m.call.hangup", "m.call.sdp_stream_metadata_changed",
		"org.matrix.call.sdp_stream_metadata_changed"} {
		is.True(callevent.IsCallEventType(typ))
	}
}

func TestTolerantReading(t *testing.T) {
	t.Run("a missing hangup reason means user_hangup", func(t *testing.T) {
		is := is.New(t)
		c, err := callevent.Parse("m.call.hangup", []byte(`{"call_id":"c","version":0}`))
		is.NoErr(err)
		is.Equal(c.(*callevent.Hangup).Reason, callevent.ReasonUserHangup)
	})
	t.Run("unknown hangup reasons are kept as given", func(t *testing.T) {
		is := is.New(t)
		c, err := callevent.Parse("m.call.hangup", []byte(`{"call_id":"c","version":"1","party_id":"p","reason":"replaced"}`))
		is.NoErr(err)
		is.Equal(c.(*callevent.Hangup).Reason, callevent.ReasonReplaced)
	})
	t.Run("a v0 event without party_id is a v0 party", func(t *testing.T) {
		is := is.New(t)
		c, err := callevent.Parse("m.call.invite", []byte(`{"call_id":"c","version":0,"lifetime":30000,"offer":{"type":"offer","sdp":"v=0"}}`))
		is.NoErr(err)
		is.Equal(c.CallBase().PartyID, "")
		is.Equal(c.CallBase().Version, callevent.V0)
	})
	t.Run("the offer type is not validated, only passed on", func(t *testing.T) {
		is := is.New(t)
		c, err := callevent.Parse("m.call.invite", []byte(`{"call_id":"c","lifetime":1,"offer":{"sdp":"v=0"}}`))
		is.NoErr(err)
		is.Equal(c.(*callevent.Invite).Offer.ToWebRTC().Type, webrtc.SDPTypeOffer)
		a, err := callevent.Parse("m.call.answer", []byte(`{"call_id":"c","answer":{"sdp":"v=0"}}`))
		is.NoErr(err)
		is.Equal(a.(*callevent.Answer).Answer.ToWebRTC().Type, webrtc.SDPTypeAnswer)
	})
	t.Run("the end-of-candidates marker may come without sdpMid and sdpMLineIndex", func(t *testing.T) {
		is := is.New(t)
		c, err := callevent.Parse("m.call.candidates", []byte(`{"call_id":"c","version":"1","party_id":"p","candidates":[{"candidate":""}]}`))
		is.NoErr(err)
		cands := c.(*callevent.Candidates).Candidates
		is.Equal(len(cands), 1)
		is.True(cands[0].IsEndOfCandidates())
		is.True(cands[0].ToICE().SDPMid == nil)
	})
	t.Run("stream metadata is read under both names", func(t *testing.T) {
		is := is.New(t)
		const unstable = `"org.matrix.msc3077.sdp_stream_metadata":{"s1":{"purpose":"m.usermedia","audio_muted":true,"video_muted":false}}`
		for typ, content := range map[string]string{
			"m.call.invite":                               `{"call_id":"c","lifetime":1,"offer":{"type":"offer","sdp":"v=0"},` + unstable + `}`,
			"m.call.answer":                               `{"call_id":"c","answer":{"type":"answer","sdp":"v=0"},` + unstable + `}`,
			"m.call.negotiate":                            `{"call_id":"c","description":{"type":"offer","sdp":"v=0"},` + unstable + `}`,
			"m.call.sdp_stream_metadata_changed":          `{"call_id":"c",` + unstable + `}`,
			"org.matrix.call.sdp_stream_metadata_changed": `{"call_id":"c",` + strings.Replace(unstable, "org.matrix.msc3077.", "", 1) + `}`,
		} {
			c, err := callevent.Parse(typ, []byte(content))
			is.NoErr(err)
			var meta callevent.StreamMetadataMap
			switch x := c.(type) {
			case *callevent.Invite:
				meta = x.StreamMetadata
			case *callevent.Answer:
				meta = x.StreamMetadata
			case *callevent.Negotiate:
				meta = x.StreamMetadata
			case *callevent.StreamMetadataChanged:
				meta = x.StreamMetadata
			}
			is.Equal(meta["s1"], callevent.StreamMetadata{Purpose: callevent.PurposeUserMedia, AudioMuted: true})
		}
	})
	t.Run("group-call fields survive a round trip with seq 0", func(t *testing.T) {
		is := is.New(t)
		in := `{"call_id":"c","party_id":"D1","version":"1","answer":{"type":"answer","sdp":"v=0"},"conf_id":"conf","device_id":"D1","sender_session_id":"s1","dest_session_id":"s2","seq":0}`
		c, err := callevent.Parse("m.call.answer", []byte(in))
		is.NoErr(err)
		b := c.CallBase()
		is.Equal(b.ConfID, "conf")
		is.Equal(b.DeviceID, "D1")
		is.Equal(b.SenderSessionID, "s1")
		is.Equal(b.DestSessionID, "s2")
		is.True(b.Seq != nil && *b.Seq == 0)
		out, _ := json.Marshal(c)
		is.True(strings.Contains(string(out), `"seq":0`))
	})
}

func TestConversionsToAndFromWebRTC(t *testing.T) {
	is := is.New(t)
	mid, idx, ufrag := "0", uint16(1), "u"
	ice := webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 1 ::1 9 typ host", SDPMid: &mid, SDPMLineIndex: &idx, UsernameFragment: &ufrag}
	c := callevent.CandidateFromICE(ice)
	is.Equal(c.ToICE(), ice)
	is.True(!c.IsEndOfCandidates())
	d := webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: "v=0"}
	is.Equal(callevent.FromWebRTC(d).ToWebRTC(), d)
	is.Equal(callevent.FromWebRTC(d).Type, "answer")
}

func TestValidID(t *testing.T) {
	tests := []struct {
		rule string
		id   string
		ok   bool
	}{
		{"letters, digits and ._~- are allowed", "aZ09._~-", true},
		{"one character is enough", "x", true},
		{"255 characters are allowed", strings.Repeat("a", 255), true},
		{"empty is not allowed", "", false},
		{"256 characters are too many", strings.Repeat("a", 256), false},
		{"spaces are not allowed", "a b", false},
		{"non-ASCII is not allowed", "é", false},
		{"slashes are not allowed", "a/b", false},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) { is.New(t).Equal(callevent.ValidID(tc.id), tc.ok) })
	}
}

func TestContentsNameTheirEventTypes(t *testing.T) {
	is := is.New(t)
	for want, c := range map[string]callevent.Content{
		"m.call.invite": &callevent.Invite{}, "m.call.candidates": &callevent.Candidates{},
		"m.call.answer": &callevent.Answer{}, "m.call.select_answer": &callevent.SelectAnswer{},
		"m.call.reject": &callevent.Reject{}, "m.call.negotiate": &callevent.Negotiate{},
		"m.call.hangup": &callevent.Hangup{}, "m.call.sdp_stream_metadata_changed": &callevent.StreamMetadataChanged{},
	} {
		is.Equal(c.EventType().Type, want)
	}
}

// FuzzParse: no input panics, and whatever parses survives a round trip.
func FuzzParse(f *testing.F) {
	var examples map[string]json.RawMessage
	_ = json.Unmarshal(seedExamples, &examples)
	for typ, raw := range examples {
		f.Add(typ, []byte(raw))
	}
	f.Add("m.call.hangup", []byte(`{"call_id":5}`))
	f.Add("m.call.candidates", []byte(`{"call_id":"c","candidates":[{"candidate":""}]}`))
	f.Fuzz(func(t *testing.T, typ string, content []byte) {
		c, err := callevent.Parse(typ, content)
		if err != nil {
			if c != nil {
				t.Fatal("content returned with an error")
			}
			_ = err.Error()
			return
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if _, err := callevent.Parse(c.EventType().Type, out); err != nil {
			t.Fatalf("round trip of %s failed: %v", out, err)
		}
	})
}
