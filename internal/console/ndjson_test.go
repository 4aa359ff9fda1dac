package console

import (
	"reflect"
	"testing"
)

// TestJSNDJSON checks the logs tab's NDJSON reader (ndjson.js) in node:
// lines cut anywhere by the chunks, even inside a UTF-8 character, CRLF,
// blank lines, a last line without a newline and a line that is not
// JSON; one onValues call per chunk that completes lines.
func TestJSNDJSON(t *testing.T) {
	type rec struct {
		Message   string `json:"message"`
		RequestID string `json:"requestId,omitempty"`
	}
	whole := `{"message":"héllo ✓","requestId":"r1"}` + "\r\n\n" +
		`{"message":"two"}` + "\n" +
		"not json\n" +
		`{"message":"last"}`
	// Every cut of the text in two, and one byte at a time.
	var got struct {
		Splits [][]rec `json:"splits"`
		Bytes  []rec   `json:"bytes"`
		Calls  int     `json:"calls"`
		Lines  []any   `json:"lines"`
	}
	runJS(t, `
const { readNDJSON, LineSplitter } = await import(process.env.JS_DIR + '/ndjson.js');
let raw = '';
for await (const chunk of process.stdin) raw += chunk;
const text = JSON.parse(raw);
const bytes = new TextEncoder().encode(text);
const streamOf = (chunks) => new ReadableStream({
  start(c) { for (const ch of chunks) c.enqueue(ch); c.close(); },
});
const read = async (chunks) => {
  const out = [];
  let calls = 0;
  await readNDJSON(streamOf(chunks), (vs) => { calls += 1; out.push(...vs); });
  return { out, calls };
};
const splits = [];
for (let i = 0; i <= bytes.length; i++) {
  splits.push((await read([bytes.slice(0, i), bytes.slice(i)])).out);
}
const one = await read([...bytes].map((b) => Uint8Array.of(b)));
const s = new LineSplitter();
const lines = [...s.push('a\nb'), ...s.push('c\r'), ...s.push('\n\nd'), ...s.end(), ...s.end()];
process.stdout.write(JSON.stringify({ splits, bytes: one.out, calls: one.calls, lines }));
`, whole, &got)
	want := []rec{{"héllo ✓", "r1"}, {"two", ""}, {"not json", ""}, {"last", ""}}
	for i, s := range got.Splits {
		if !reflect.DeepEqual(s, want) {
			t.Errorf("cut at byte %d: %+v; want %+v", i, s, want)
		}
	}
	if len(got.Splits) != len(whole)+1 {
		t.Errorf("%d cuts; want %d", len(got.Splits), len(whole)+1)
	}
	if !reflect.DeepEqual(got.Bytes, want) {
		t.Errorf("one byte at a time: %+v; want %+v", got.Bytes, want)
	}
	if got.Calls != len(want) {
		t.Errorf("one byte at a time: onValues called %d times; want once per completed line (%d)", got.Calls, len(want))
	}
	if wantLines := []any{"a", "bc", "d"}; !reflect.DeepEqual(got.Lines, wantLines) {
		t.Errorf("LineSplitter: %q; want %q", got.Lines, wantLines)
	}
}
