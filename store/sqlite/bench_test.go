package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/agenda-gpt/agenda"
	"github.com/agenda-gpt/agenda/store"
)

func benchStore(b *testing.B) *store.Store {
	b.Helper()
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "agenda.db"), nil, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkCreateEvent(b *testing.B) {
	in := agenda.NewEvent{Title: "Standup", Start: day.Add(9 * time.Hour), End: ptr(day.Add(10 * time.Hour)), Notes: "daily"}
	b.Run("serial", func(b *testing.B) {
		s := benchStore(b)
		for b.Loop() {
			if _, _, err := s.CreateEvent(context.Background(), "alice", in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		s := benchStore(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := s.CreateEvent(context.Background(), "alice", in); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkListEvents lists a day holding 20 events, among a year of one
// user's events and other users'.
func BenchmarkListEvents(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	for d := range 365 {
		for h := range 4 {
			start := day.AddDate(0, 0, d-180).Add(time.Duration(8+2*h) * time.Hour)
			for _, user := range []string{"alice", "bob"} {
				if _, _, err := s.CreateEvent(ctx, user, agenda.NewEvent{Title: fmt.Sprint(d, h), Start: start}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	for i := range 16 { // 4 that day already, 16 more
		if _, _, err := s.CreateEvent(ctx, "alice", agenda.NewEvent{Title: fmt.Sprint("extra ", i), Start: day.Add(time.Duration(i) * time.Hour / 2)}); err != nil {
			b.Fatal(err)
		}
	}
	q := agenda.ListQuery{From: ptr(day), To: ptr(day.Add(24 * time.Hour))}
	if p, err := s.ListEvents(ctx, "alice", q); err != nil || len(p.Events) != 20 {
		b.Fatalf("the window holds %d events (%v), want 20", len(p.Events), err)
	}

	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.ListEvents(ctx, "alice", q); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.ListEvents(ctx, "alice", q); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
