package logs

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// rec builds a record of fn at t0+sec.
func rec(fn, inst, req, msg string, sec int) Record {
	return Record{Time: t0.Add(time.Duration(sec) * time.Second), Function: fn, Instance: inst, RequestID: req, Message: msg}
}

func messages(rs []Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Message
	}
	return out
}

func wantMessages(t *testing.T, what string, got []Record, want ...string) {
	t.Helper()
	if g := strings.Join(messages(got), "|"); g != strings.Join(want, "|") {
		t.Errorf("%s: got %q, want %q", what, messages(got), want)
	}
}

func TestQueryFilters(t *testing.T) {
	s := New(Options{})
	for _, r := range []Record{
		rec("s/f", "i1", "", "boot", 0),
		rec("s/f", "i1", "r1", "FC Invoke Start RequestId: r1", 1),
		rec("s/f", "i1", "r1", "hello r1", 2),
		rec("s/f", "i2", "r2", "hello r2", 3),
		rec("s/f", "i1", "r1", "FC Invoke End RequestId: r1", 4),
		rec("s/g", "i3", "r1", "other function", 5),
	} {
		s.Append(r)
	}
	tests := []struct {
		name string
		fn   string
		f    Filter
		want []string
	}{
		{"all", "s/f", Filter{}, []string{"boot", "FC Invoke Start RequestId: r1", "hello r1", "hello r2", "FC Invoke End RequestId: r1"}},
		{"request", "s/f", Filter{RequestID: "r1"}, []string{"FC Invoke Start RequestId: r1", "hello r1", "FC Invoke End RequestId: r1"}},
		{"instance", "s/f", Filter{Instance: "i2"}, []string{"hello r2"}},
		{"since inclusive", "s/f", Filter{Since: t0.Add(3 * time.Second)}, []string{"hello r2", "FC Invoke End RequestId: r1"}},
		{"tail", "s/f", Filter{Tail: 2}, []string{"hello r2", "FC Invoke End RequestId: r1"}},
		{"tail of matching", "s/f", Filter{Instance: "i1", Tail: 2}, []string{"hello r1", "FC Invoke End RequestId: r1"}},
		{"tail beyond", "s/f", Filter{RequestID: "r2", Tail: 10}, []string{"hello r2"}},
		{"combined", "s/f", Filter{Instance: "i1", RequestID: "r1", Since: t0.Add(2 * time.Second)}, []string{"hello r1", "FC Invoke End RequestId: r1"}},
		{"no match", "s/f", Filter{RequestID: "nope"}, nil},
		{"other function", "s/g", Filter{}, []string{"other function"}},
		{"unknown function", "s/x", Filter{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Query(tt.fn, tt.f)
			wantMessages(t, tt.name, got, tt.want...)
			for _, r := range got {
				if r.Function != tt.fn {
					t.Errorf("record %q has function %q", r.Message, r.Function)
				}
			}
		})
	}
}

func TestAppendSetsTime(t *testing.T) {
	s := New(Options{})
	before := time.Now()
	s.Append(Record{Function: "s/f", Message: "m"})
	got := s.Query("s/f", Filter{})
	if len(got) != 1 || got[0].Time.Before(before) || got[0].Time.After(time.Now()) {
		t.Fatalf("got %+v; want one record stamped now", got)
	}
}

func TestRetention(t *testing.T) {
	const budget = 10 * (recordOverhead + 10)
	tests := []struct {
		name   string
		msgs   []string
		want   []string // kept, oldest first
		maxLen int      // longest kept message
	}{
		{"under budget", []string{"0123456789", "0123456789"}, []string{"0123456789", "0123456789"}, 10},
		{
			"oldest dropped",
			func() []string {
				var m []string
				for i := range 15 {
					m = append(m, fmt.Sprintf("msg-%06d", i))
				}
				return m
			}(),
			[]string{"msg-000005", "msg-000006", "msg-000007", "msg-000008", "msg-000009", "msg-000010", "msg-000011", "msg-000012", "msg-000013", "msg-000014"},
			10,
		},
		{"huge line truncated, older dropped", []string{"a", "b", strings.Repeat("x", 2*budget)}, []string{strings.Repeat("x", budget-recordOverhead)}, budget - recordOverhead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{MaxBytesPerFunction: budget})
			for i, m := range tt.msgs {
				s.Append(rec("s/f", "", "", m, i))
			}
			got := s.Query("s/f", Filter{})
			wantMessages(t, "kept", got, tt.want...)
			total := 0
			for _, r := range got {
				total += r.size()
				if len(r.Message) > tt.maxLen {
					t.Errorf("kept a %d-byte message; want at most %d", len(r.Message), tt.maxLen)
				}
			}
			if total > budget {
				t.Errorf("kept %d bytes; budget %d", total, budget)
			}
		})
	}
}

func TestRetentionLongRun(t *testing.T) {
	// Many appends through the compaction path keep order and the bound.
	const budget = 50 * (recordOverhead + 8)
	s := New(Options{MaxBytesPerFunction: budget})
	for i := range 10000 {
		s.Append(rec("s/f", "", "", fmt.Sprintf("%08d", i), 0))
	}
	got := s.Query("s/f", Filter{})
	if len(got) != 50 {
		t.Fatalf("kept %d records; want 50", len(got))
	}
	for i, r := range got {
		if want := fmt.Sprintf("%08d", 9950+i); r.Message != want {
			t.Fatalf("record %d = %q; want %q", i, r.Message, want)
		}
	}
}

func TestMaxFunctionsEvictsLeastRecentlyWritten(t *testing.T) {
	s := New(Options{MaxFunctions: 2})
	s.Append(rec("s/a", "", "", "a1", 0))
	s.Append(rec("s/b", "", "", "b1", 0))
	s.Append(rec("s/a", "", "", "a2", 0)) // b is now the least recently written
	s.Append(rec("s/c", "", "", "c1", 0))
	wantMessages(t, "a", s.Query("s/a", Filter{}), "a1", "a2")
	wantMessages(t, "b", s.Query("s/b", Filter{}))
	wantMessages(t, "c", s.Query("s/c", Filter{}), "c1")

	// A followed function is kept in preference to an older unfollowed one.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := s.Follow(ctx, "s/a", Filter{Tail: 1})
	<-ch
	s.Append(rec("s/c", "", "", "c2", 0)) // a is now the least recently written, but followed
	s.Append(rec("s/d", "", "", "d1", 0))
	wantMessages(t, "a kept", s.Query("s/a", Filter{}), "a1", "a2")
	wantMessages(t, "c evicted", s.Query("s/c", Filter{}))
	wantMessages(t, "d", s.Query("s/d", Filter{}), "d1")
}

// recv reads one record or fails after a (fake, under synctest) minute.
func recv(t *testing.T, ch <-chan Record) (Record, bool) {
	t.Helper()
	select {
	case r, ok := <-ch:
		return r, ok
	case <-time.After(time.Minute):
		t.Fatal("no record from Follow")
		return Record{}, false
	}
}

func TestFollowBacklogLiveCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{})
		s.Append(rec("s/f", "i1", "r1", "old-1", 0))
		s.Append(rec("s/f", "i2", "r2", "old-2", 1))
		s.Append(rec("s/f", "i1", "r1", "old-3", 2))
		ctx, cancel := context.WithCancel(t.Context())
		ch := s.Follow(ctx, "s/f", Filter{Instance: "i1", Tail: 1})
		if r, _ := recv(t, ch); r.Message != "old-3" {
			t.Fatalf("backlog = %q; want old-3 (tail 1 of instance i1)", r.Message)
		}
		s.Append(rec("s/f", "i2", "r2", "live-other-instance", 3))
		s.Append(rec("s/f", "i1", "r3", "live-1", 4))
		s.Append(rec("s/g", "i1", "r3", "other function", 4))
		s.Append(rec("s/f", "i1", "r3", "live-2", 5))
		for _, want := range []string{"live-1", "live-2"} {
			if r, _ := recv(t, ch); r.Message != want {
				t.Fatalf("live = %q; want %q", r.Message, want)
			}
		}
		synctest.Wait()
		select {
		case r := <-ch:
			t.Fatalf("unexpected record %q", r.Message)
		default:
		}
		cancel()
		if r, ok := recv(t, ch); ok {
			t.Fatalf("after cancel got %q; want the channel closed", r.Message)
		}
		// The follower is gone: Append does not offer it records.
		s.mu.RLock()
		subs := len(s.fns["s/f"].subs)
		s.mu.RUnlock()
		if subs != 0 {
			t.Errorf("%d followers left after cancel", subs)
		}
		// synctest.Test fails if the Follow goroutine is still blocked.
	})
}

func TestFollowUnknownFunctionThenLive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{})
		ctx, cancel := context.WithCancel(t.Context())
		ch := s.Follow(ctx, "s/new", Filter{})
		s.Append(rec("s/new", "i", "", "first", 0))
		if r, _ := recv(t, ch); r.Message != "first" {
			t.Fatalf("got %q; want first", r.Message)
		}
		cancel()
		for range ch {
		}
		// An unfollowed function keeps its records.
		wantMessages(t, "kept", s.Query("s/new", Filter{}), "first")

		// An unfollowed function without records leaves no entry.
		ctx2, cancel2 := context.WithCancel(t.Context())
		ch2 := s.Follow(ctx2, "s/empty", Filter{})
		cancel2()
		for range ch2 {
		}
		s.mu.RLock()
		_, ok := s.fns["s/empty"]
		s.mu.RUnlock()
		if ok {
			t.Error("an abandoned follow of an empty function left its entry")
		}
	})
}

func TestFollowEndsOnForgetEvictClose(t *testing.T) {
	tests := []struct {
		name string
		end  func(s *Store)
	}{
		{"forget", func(s *Store) { s.Forget("s/f") }},
		{"evict", func(s *Store) { s.Append(rec("s/other", "", "", "x", 0)) }},
		{"close", func(s *Store) { s.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := New(Options{MaxFunctions: 1})
				s.Append(rec("s/f", "", "", "a", 0))
				ch := s.Follow(t.Context(), "s/f", Filter{})
				if r, _ := recv(t, ch); r.Message != "a" {
					t.Fatalf("backlog %q", r.Message)
				}
				tt.end(s)
				if r, ok := recv(t, ch); ok {
					t.Fatalf("got %q; want the stream ended", r.Message)
				}
			})
		})
	}
	t.Run("follow after close", func(t *testing.T) {
		s := New(Options{})
		s.Append(rec("s/f", "", "", "a", 0))
		s.Close()
		if _, ok := <-s.Follow(context.Background(), "s/f", Filter{}); ok {
			t.Fatal("Follow after Close delivered a record")
		}
		wantMessages(t, "query after close", s.Query("s/f", Filter{}), "a")
		s.Append(rec("s/f", "", "", "b", 0))
		wantMessages(t, "append after close", s.Query("s/f", Filter{}), "a", "b")
	})
}

func TestFollowSlowReaderDropsAndSaysSo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		ch := s.Follow(ctx, "s/f", Filter{})
		synctest.Wait() // the forwarder is parked, nobody reads ch
		const n = followBuffer + 64 + 500
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range n {
				s.Append(rec("s/f", "", "", fmt.Sprint(i), 0))
			}
		}()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("Append blocked on a slow follower")
		}
		// Read everything that was kept, then one more record.
		var got []string
	drain:
		for {
			synctest.Wait()
			select {
			case r := <-ch:
				got = append(got, r.Message)
			default:
				break drain
			}
		}
		s.Append(rec("s/f", "", "", "after", 0))
		for r := range ch {
			got = append(got, r.Message)
			if r.Message == "after" {
				break
			}
		}
		// In order, no duplicates, then one notice before "after".
		notice := got[len(got)-2]
		if !strings.Contains(notice, "dropped") {
			t.Fatalf("second to last = %q; want a drop notice", notice)
		}
		delivered := got[:len(got)-2]
		for i, m := range delivered {
			if m != fmt.Sprint(i) {
				t.Fatalf("record %d = %q; want %d", i, m, i)
			}
		}
		if want := fmt.Sprintf("openfc: %d log records dropped", n-len(delivered)); !strings.HasPrefix(notice, want) {
			t.Errorf("notice %q; want prefix %q", notice, want)
		}
		if len(delivered) < followBuffer {
			t.Errorf("delivered %d; want at least the buffer (%d)", len(delivered), followBuffer)
		}
	})
}

func TestInvocation(t *testing.T) {
	s := New(Options{})
	for _, r := range []Record{
		rec("s/f", "i", "r1", "FC Invoke Start RequestId: r1", 0),
		rec("s/f", "i", "r2", "FC Invoke Start RequestId: r2", 0),
		rec("s/f", "i", "r1", "line one", 0),
		rec("s/f", "i", "", "untagged", 0),
		rec("s/f", "i", "r2", "r2 line", 0),
		rec("s/f", "i", "r1", "FC Invoke End RequestId: r1", 0),
	} {
		s.Append(r)
	}
	full := "FC Invoke Start RequestId: r1\nline one\nFC Invoke End RequestId: r1\n"
	tests := []struct {
		name, fn, req string
		max           int
		want          string
	}{
		{"all", "s/f", "r1", 0, full},
		{"roomy", "s/f", "r1", 4096, full},
		{"exact", "s/f", "r1", len(full), full},
		{"cut inside a line", "s/f", "r1", 10, full[len(full)-10:]},
		{"last line exactly", "s/f", "r1", len("FC Invoke End RequestId: r1\n"), "FC Invoke End RequestId: r1\n"},
		{"other invocation", "s/f", "r2", 0, "FC Invoke Start RequestId: r2\nr2 line\n"},
		{"unknown request", "s/f", "r9", 0, ""},
		{"empty request id", "s/f", "", 0, ""},
		{"unknown function", "s/x", "r1", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(s.Invocation(tt.fn, tt.req, tt.max)); got != tt.want {
				t.Errorf("got %q; want %q", got, tt.want)
			}
		})
	}
}

func TestConcurrentAppend(t *testing.T) {
	s := New(Options{MaxFunctions: 3})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	followed := s.Follow(ctx, "s/f0", Filter{})
	var wg sync.WaitGroup
	const writers, each = 8, 500
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				s.Append(rec(fmt.Sprintf("s/f%d", w%4), fmt.Sprint(w), fmt.Sprint(i), "m", 0))
			}
		})
	}
	wg.Go(func() {
		for range each {
			s.Query("s/f0", Filter{Tail: 5})
			s.Invocation("s/f1", "3", 4096)
		}
	})
	var got int
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for range followed {
			got++
		}
	}()
	wg.Wait()
	cancel()
	<-readDone
	if got == 0 {
		t.Error("the follower saw nothing")
	}
	// Four functions through a three-function store: at most three kept.
	s.mu.RLock()
	n := len(s.fns)
	s.mu.RUnlock()
	if n > 3 {
		t.Errorf("%d functions kept; want at most 3", n)
	}
}
