package java

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

// codecCheck runs in the bootstrap's package, so that it reaches the
// package-private JSON codec and event answer; it prints one line per case.
const codecCheck = `package openfc.bootstrap;

import java.nio.charset.StandardCharsets;
import java.util.Map;

public final class CodecCheck {
    static void answer(String name, String out) {
        Event e = Event.response(out.getBytes(StandardCharsets.ISO_8859_1));
        System.out.println(name + " " + e.status + " " + e.headers + " " + new String(e.body, StandardCharsets.ISO_8859_1));
    }

    public static void main(String[] a) {
        // UTF-8 whatever the node's locale, as the test compares.
        System.setOut(new java.io.PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8));
        String in = "{\"s\":\"q\\\"b\\\\s\\/n\\n\\t\\u00e9\\ud83d\\ude00\",\"n\":[1,-2.5,3e2,true,false,null],\"o\":{\"x\":{}},\"e\":[]}";
        Object v = Json.parse(in);
        System.out.println("roundtrip " + Json.write(v));
        System.out.println("again " + Json.write(Json.parse(Json.write(v))).equals(Json.write(v)));
        System.out.println("ctl " + Json.write(Map.of("c", "\u0001")));
        for (String bad : new String[] {"{", "{\"a\" 1}", "[1,]", "\"x", "1 2", "{\"a\":tru}"}) {
            try {
                Json.parse(bad);
                System.out.println("accepted " + bad);
            } catch (IllegalArgumentException e) {
                System.out.println("refused");
            }
        }
        answer("full", "{\"statusCode\":201,\"headers\":{\"x-a\":\"b\",\"Content-Length\":\"9\",\"x-n\":5},\"body\":\"hi\"}");
        answer("b64", "{\"statusCode\":\"202\",\"body\":\"AAH/\",\"isBase64Encoded\":true}");
        answer("objbody", "{\"statusCode\":200,\"body\":{\"k\":[1,2]}}");
        answer("nostatus", "{\"body\":\"x\"}");
        answer("text", "plain text");
        answer("binary", "\u00ff\u0000");
    }
}
`

// The event style's codec: JSON with escapes, numbers, booleans and nested
// values both ways; the handler's output as {statusCode, headers, body,
// isBase64Encoded}, else a 200 body as it is.
func TestEventCodec(t *testing.T) {
	r := Runtime{}
	if _, err := r.Check("java11"); err != nil {
		t.Skipf("no Java toolchain here: %v", err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, Files); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Launch(&fc.Function{Runtime: "java11", Handler: "a.B::c"}, t.TempDir(), dir); err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(dir, "classes") + string(os.PathListSeparator) + r.servletJar()
	src := filepath.Join(t.TempDir(), "CodecCheck.java")
	os.WriteFile(src, []byte(codecCheck), 0o644)
	out := t.TempDir()
	if b, err := exec.Command("javac", "-d", out, "-cp", cp, src).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, b)
	}
	b, err := exec.Command("java", "-cp", out+string(os.PathListSeparator)+cp, "openfc.bootstrap.CodecCheck").CombinedOutput()
	if err != nil {
		t.Fatalf("java: %v\n%s", err, b)
	}
	want := []string{
		`roundtrip {"s":"q\"b\\s/n\n\t` + "\u00e9\U0001F600" + `","n":[1,-2.5,300,true,false,null],"o":{"x":{}},"e":[]}`,
		"again true",
		`ctl {"c":"\u0001"}`,
		"refused", "refused", "refused", "refused", "refused", "refused",
		"full 201 {x-a=[b], x-n=[5]} hi",
		"b64 202 {} \x00\x01\u00ff",
		`objbody 200 {} {"k":[1,2]}`,
		`nostatus 200 {} {"body":"x"}`,
		"text 200 {} plain text",
		"binary 200 {} \u00ff\x00",
	}
	got := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	for i, w := range want {
		if i >= len(got) || got[i] != w {
			g := "(missing)"
			if i < len(got) {
				g = got[i]
			}
			t.Errorf("line %d:\n got %q\nwant %q", i, g, w)
		}
	}
}
