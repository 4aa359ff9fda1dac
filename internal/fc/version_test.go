package fc_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/openfc/openfc/internal/fc"
)

func TestPickVersionBoundaries(t *testing.T) {
	a := &fc.Alias{VersionID: "1", AdditionalVersionWeight: map[string]float64{"2": 0.3}}
	for _, c := range []struct {
		u    float64
		want string
	}{{0, "2"}, {0.2999, "2"}, {0.3, "1"}, {0.99, "1"}} {
		if got := fc.PickVersion(a, c.u); got != c.want {
			t.Errorf("PickVersion(u=%v) = %s, want %s", c.u, got, c.want)
		}
	}
	if got := fc.PickVersion(&fc.Alias{VersionID: "4"}, 0); got != "4" {
		t.Errorf("without weights: %s, want 4", got)
	}
	full := &fc.Alias{VersionID: "1", AdditionalVersionWeight: map[string]float64{"2": 1}}
	if got := fc.PickVersion(full, math.Nextafter(1, 0)); got != "2" {
		t.Errorf("weight 1: %s, want 2", got)
	}
}

// TestPickVersionSplit draws from a seeded source: the share of the
// additional version stays within 4.5 standard deviations of its weight.
func TestPickVersionSplit(t *testing.T) {
	a := &fc.Alias{VersionID: "1", AdditionalVersionWeight: map[string]float64{"2": 0.3}}
	r := rand.New(rand.NewPCG(1, 2))
	const n = 100000
	hits := 0
	for range n {
		if fc.PickVersion(a, r.Float64()) == "2" {
			hits++
		}
	}
	sigma := math.Sqrt(n * 0.3 * 0.7)
	if d := math.Abs(float64(hits) - n*0.3); d > 4.5*sigma {
		t.Fatalf("version 2 got %d of %d, %.0f from the expected %.0f (4.5σ = %.0f)", hits, n, d, n*0.3, 4.5*sigma)
	}
}

func TestValidateAlias(t *testing.T) {
	exists := func(id string) bool { return id == "1" || id == "2" }
	ok := &fc.Alias{AliasName: "prod", VersionID: "1", AdditionalVersionWeight: map[string]float64{"2": 0.5}}
	if err := fc.ValidateAlias(ok, exists); err != nil {
		t.Fatalf("valid alias refused: %v", err)
	}
	for name, c := range map[string]struct {
		a    fc.Alias
		code fc.Code
	}{
		"no name":          {fc.Alias{VersionID: "1"}, fc.CodeInvalidArgument},
		"LATEST":           {fc.Alias{AliasName: "LATEST", VersionID: "1"}, fc.CodeInvalidArgument},
		"digit first":      {fc.Alias{AliasName: "1a", VersionID: "1"}, fc.CodeInvalidArgument},
		"no version":       {fc.Alias{AliasName: "a"}, fc.CodeInvalidArgument},
		"unknown version":  {fc.Alias{AliasName: "a", VersionID: "3"}, fc.CodeVersionNotFound},
		"version LATEST":   {fc.Alias{AliasName: "a", VersionID: "LATEST"}, fc.CodeVersionNotFound},
		"weight > 1":       {fc.Alias{AliasName: "a", VersionID: "1", AdditionalVersionWeight: map[string]float64{"2": 1.5}}, fc.CodeInvalidArgument},
		"negative weight":  {fc.Alias{AliasName: "a", VersionID: "1", AdditionalVersionWeight: map[string]float64{"2": -0.1}}, fc.CodeInvalidArgument},
		"own version":      {fc.Alias{AliasName: "a", VersionID: "1", AdditionalVersionWeight: map[string]float64{"1": 0.1}}, fc.CodeInvalidArgument},
		"unknown weighted": {fc.Alias{AliasName: "a", VersionID: "1", AdditionalVersionWeight: map[string]float64{"9": 0.1}}, fc.CodeVersionNotFound},
		"two weighted":     {fc.Alias{AliasName: "a", VersionID: "1", AdditionalVersionWeight: map[string]float64{"2": 0.1, "3": 0.1}}, fc.CodeInvalidArgument},
	} {
		err := fc.ValidateAlias(&c.a, exists)
		var fe *fc.Error
		if !errors.As(err, &fe) || fe.Code != c.code {
			t.Errorf("%s: got %v, want %s", name, err, c.code)
		}
	}
}

func TestQualifierNotFound(t *testing.T) {
	if c := fc.QualifierNotFound("s", "3").Code; c != fc.CodeVersionNotFound {
		t.Errorf("digits: %s", c)
	}
	if c := fc.QualifierNotFound("s", "prod").Code; c != fc.CodeAliasNotFound {
		t.Errorf("alias: %s", c)
	}
	if !fc.IsVersionID("12") || fc.IsVersionID("012") || fc.IsVersionID("0") || fc.IsVersionID("LATEST") {
		t.Error("IsVersionID")
	}
}
