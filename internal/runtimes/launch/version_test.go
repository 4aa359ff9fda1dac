package launch

import "testing"

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]Version{"7.2": {7, 2}, "8.2.7": {8, 2}, "3.11.2": {3, 11}, "8.2.7-1+deb12": {8, 2}} {
		if got, ok := ParseVersion(in); !ok || got != want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "7", "7.", ".2", "x.2", "7.2a", "-1.2", "10.0-rc"} {
		if got, ok := ParseVersion(in); ok {
			t.Errorf("ParseVersion(%q) = %v; want no version", in, got)
		}
	}
	if !(Version{7, 2}).Older(Version{8, 0}) || !(Version{3, 9}).Older(Version{3, 10}) || (Version{3, 10}).Older(Version{3, 10}) {
		t.Error("Older orders versions wrongly")
	}
}
