package main

import (
	"math"
	"sort"
	"time"
)

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// pairedMedian is the median over the rounds of a's requests/s ÷ b's
// within the round. The pair is measured seconds apart in each round, so
// on a shared machine this is steadier than the ratio of the medians;
// false when the rounds do not pair up (a failed round) or none has a
// figure for b.
// pairedP50Diff is the median of the rounds' own p50 differences, a's
// less b's: on a machine whose speed drifts between rounds, the pairs
// measured seconds apart compare fairly where the medians do not.
func pairedP50Diff(a, b wrkResult) (float64, bool) {
	if len(a.RoundsP50us) != len(b.RoundsP50us) || len(a.RoundsP50us) == 0 {
		return 0, false
	}
	per := make([]float64, len(a.RoundsP50us))
	for i := range per {
		per[i] = a.RoundsP50us[i] - b.RoundsP50us[i]
	}
	return median(per), true
}

func pairedMedian(a, b wrkResult) (float64, bool) {
	if len(a.RoundsRPS) != len(b.RoundsRPS) {
		return 0, false
	}
	var per []float64
	for i := range a.RoundsRPS {
		if b.RoundsRPS[i] > 0 {
			per = append(per, a.RoundsRPS[i]/b.RoundsRPS[i])
		}
	}
	if len(per) == 0 {
		return 0, false
	}
	return median(per), true
}
