package fc

import (
	"errors"
	"testing"
)

func TestParseDestinationTable(t *testing.T) {
	for _, c := range []struct {
		in   string
		want DestinationTarget
	}{
		{"acs:fc:cn-hangzhou:123:services/s.prod/functions/f", DestinationTarget{Region: "cn-hangzhou", Account: "123", Service: "s", Qualifier: "prod", Function: "f"}},
		{"acs:fc:cn-hangzhou:123:services/s.1/functions/f", DestinationTarget{Region: "cn-hangzhou", Account: "123", Service: "s", Qualifier: "1", Function: "f"}},
		{"acs:fc:cn-hangzhou:123:services/s/functions/f", DestinationTarget{Region: "cn-hangzhou", Account: "123", Service: "s", Qualifier: LATEST, Function: "f"}},
		{"https://example.com/hook?x=1", DestinationTarget{URL: "https://example.com/hook?x=1"}},
		{"http://127.0.0.1:9/", DestinationTarget{URL: "http://127.0.0.1:9/"}},
	} {
		got, err := ParseDestination(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseDestination(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "acs:fc:r:a:services/s/functions", "acs:mns:r:a:queues/q", "acs:fc:r:a:services/s.q.x/functions/f",
		"acs:fc:r:a:services/s/functions/f/x", "ftp://host/x", "http://", "acs:fc:r:a:services/s/functions/f.g", "acs:fc:r:a:services/s./functions/f"} {
		_, err := ParseDestination(bad)
		var fe *Error
		if !errors.As(err, &fe) || fe.Code != CodeInvalidArgument {
			t.Errorf("ParseDestination(%q) = %v, want 400 InvalidArgument", bad, err)
		}
	}
}
