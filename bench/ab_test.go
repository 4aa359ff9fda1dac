package main

import (
	"reflect"
	"testing"
)

func TestParseVariants(t *testing.T) {
	got, err := parseVariants("nethttp=:warn, fast=:warn:--http1-server=fast --header-timeout 10s,old=/tmp/openfc-old,log=:info:--cluster-listen=127.0.0.1:7000")
	if err != nil {
		t.Fatal(err)
	}
	want := []variant{
		{name: "nethttp", logLevel: "warn"},
		{name: "fast", logLevel: "warn", args: []string{"--http1-server=fast", "--header-timeout", "10s"}},
		{name: "old", bin: "/tmp/openfc-old", logLevel: "warn"},
		{name: "log", logLevel: "info", args: []string{"--cluster-listen=127.0.0.1:7000"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseVariants:\n got  %+v\n want %+v", got, want)
	}
	for _, bad := range []string{"noequals", "=bin", "x=::http1-server=fast"} {
		if _, err := parseVariants(bad); err == nil {
			t.Errorf("parseVariants(%q): no error", bad)
		}
	}
}
