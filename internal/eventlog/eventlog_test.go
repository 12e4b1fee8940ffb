package eventlog_test

import (
	"sync"
	"testing"

	"github.com/grpcbench/grpcbench/internal/eventlog"
)

func TestBoundedAndCounted(t *testing.T) {
	tests := []struct {
		name        string
		cap, adds   int
		kept        int
		dropped     int64
		wantCapUsed int
	}{
		{"under cap", 5, 3, 3, 0, 5},
		{"at cap", 5, 5, 5, 0, 5},
		{"over cap", 5, 12, 5, 7, 5},
		{"default cap", 0, 2, 2, 0, eventlog.DefaultCap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := eventlog.New[int](tt.cap)
			for i := range tt.adds {
				l.Add(i)
			}
			got, dropped := l.Snapshot()
			if len(got) != tt.kept || dropped != tt.dropped || l.Cap() != tt.wantCapUsed {
				t.Fatalf("kept %d dropped %d cap %d, want %d %d %d", len(got), dropped, l.Cap(), tt.kept, tt.dropped, tt.wantCapUsed)
			}
			for i, v := range got {
				if v != i {
					t.Fatalf("event %d = %d: the first events must be kept in order", i, v)
				}
			}
		})
	}
}

func TestSnapshotIsACopy(t *testing.T) {
	l := eventlog.New[int](4)
	l.Add(1)
	s, _ := l.Snapshot()
	s[0] = 99
	if again, _ := l.Snapshot(); again[0] != 1 {
		t.Fatalf("Snapshot shares memory with the log")
	}
}

func TestConcurrentAddsAllAccounted(t *testing.T) {
	l := eventlog.New[int](100)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				l.Add(g*1000 + i)
			}
		}()
	}
	wg.Wait()
	got, dropped := l.Snapshot()
	if int64(len(got))+dropped != 400 || len(got) != 100 {
		t.Fatalf("kept %d + dropped %d, want 100 + 300", len(got), dropped)
	}
}
