package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openfc/openfc/internal/codezip"
	"github.com/openfc/openfc/internal/fc"
)

// TestFunctionsCode: `functions code` downloads the function's zip
// through GetFunctionCode's presigned url, to a file or stdout; an
// unknown function is FC's FunctionNotFound.
func TestFunctionsCode(t *testing.T) {
	ctx, st, runner := apiCLI(t, nil)
	run := runner.admin
	zip := []byte("PK\x05\x06" + strings.Repeat("\x00", 18)) // an empty zip: the bytes are what matters
	sum := codezip.Checksum(zip)
	if _, err := st.CreateService(ctx, &fc.Service{ServiceName: "s"}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutCode(ctx, sum, bytes.NewReader(zip)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateFunction(ctx, "s", &fc.Function{FunctionName: "f", Runtime: "custom.debian10", CodeChecksum: sum, CodeSize: int64(len(zip))}); err != nil {
		t.Fatal(err)
	}

	file := filepath.Join(t.TempDir(), "f.zip")
	if code, out, errOut := run("functions", "code", "s/f", "-o", file); code != 0 || !strings.Contains(out, "wrote "+file+" (22 bytes, checksum "+sum+")") {
		t.Fatalf("code -o: %d %q %q", code, out, errOut)
	}
	if got, err := os.ReadFile(file); err != nil || !bytes.Equal(got, zip) {
		t.Errorf("the file holds %q (%v); want the zip", got, err)
	}
	if code, out, errOut := run("functions", "code", "s/f", "-o", "-"); code != 0 || out != string(zip) {
		t.Errorf("code -o -: %d %q %q; want the zip on stdout", code, out, errOut)
	}
	if code, _, errOut := run("functions", "code", "s/nope"); code == 0 || !strings.Contains(errOut, "FunctionNotFound") {
		t.Errorf("code of an unknown function: %d %q", code, errOut)
	}
}
