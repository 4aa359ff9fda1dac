package fc

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"
)

// An async request waits in the queue as JSON, and its outcome is kept
// as JSON. A header value may hold bytes that are not UTF-8 (HTTP's
// obs-text: a browser sends "héllo" as Latin-1), which encoding/json
// would replace with U+FFFD: the function would get another header than
// the caller sent, where a synchronous call gets it as sent. wireHeader
// writes such a value as {"b64": "…"} and every other value as a plain
// string, so records queued before this format still decode.
type wireHeader http.Header

type wireBytes struct {
	B64 string `json:"b64"`
}

func (h wireHeader) MarshalJSON() ([]byte, error) {
	if allUTF8(h) { // nearly always: the plain form, no copy
		return json.Marshal(http.Header(h))
	}
	out := make(map[string][]any, len(h))
	for k, vs := range h {
		enc := make([]any, len(vs))
		for i, v := range vs {
			if utf8.ValidString(v) {
				enc[i] = v
			} else {
				enc[i] = wireBytes{B64: base64.StdEncoding.EncodeToString([]byte(v))}
			}
		}
		out[k] = enc
	}
	return json.Marshal(out)
}

func allUTF8(h wireHeader) bool {
	for _, vs := range h {
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return false
			}
		}
	}
	return true
}

func (h *wireHeader) UnmarshalJSON(b []byte) error {
	var plain http.Header
	if json.Unmarshal(b, &plain) == nil { // nearly always: strings only
		*h = wireHeader(plain)
		return nil
	}
	var in map[string][]json.RawMessage
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	if in == nil {
		*h = nil
		return nil
	}
	out := make(wireHeader, len(in))
	for k, raws := range in {
		vs := make([]string, len(raws))
		for i, raw := range raws {
			v, err := wireValue(raw)
			if err != nil {
				return fmt.Errorf("header %s: %w", k, err)
			}
			vs[i] = v
		}
		out[k] = vs
	}
	*h = out
	return nil
}

func wireValue(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var wb wireBytes
	if err := json.Unmarshal(raw, &wb); err != nil {
		return "", err
	}
	b, err := base64.StdEncoding.DecodeString(wb.B64)
	if err != nil {
		return "", fmt.Errorf("b64 value: %w", err)
	}
	return string(b), nil
}

// MarshalJSON writes the request with its header through wireHeader.
func (r AsyncRequest) MarshalJSON() ([]byte, error) {
	type plain AsyncRequest
	return json.Marshal(struct {
		plain
		Header wireHeader `json:"header,omitempty"`
	}{plain(r), wireHeader(r.Header)})
}

// UnmarshalJSON reads a request written by MarshalJSON (or before it).
func (r *AsyncRequest) UnmarshalJSON(b []byte) error {
	type plain AsyncRequest
	w := struct {
		*plain
		Header wireHeader `json:"header,omitempty"`
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	r.Header = http.Header(w.Header)
	return nil
}

// MarshalJSON writes the outcome with its header through wireHeader.
func (o AsyncOutcome) MarshalJSON() ([]byte, error) {
	type plain AsyncOutcome
	return json.Marshal(struct {
		plain
		Header wireHeader `json:"header,omitempty"`
	}{plain(o), wireHeader(o.Header)})
}

// UnmarshalJSON reads an outcome written by MarshalJSON (or before it).
func (o *AsyncOutcome) UnmarshalJSON(b []byte) error {
	type plain AsyncOutcome
	w := struct {
		*plain
		Header wireHeader `json:"header,omitempty"`
	}{plain: (*plain)(o)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	o.Header = http.Header(w.Header)
	return nil
}
