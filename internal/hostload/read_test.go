package hostload

import (
	"strings"
	"testing"
	"time"
)

const statSample = `cpu  373948 377 94804 225914 964 0 3984 290 12 0
cpu0 186974 188 47402 112957 482 0 1992 145 6 0
cpu1 186974 189 47402 112957 482 0 1992 145 6 0
intr 1 2 3
ctxt 99
btime 1700000000
processes 17130
procs_running 3
procs_blocked 0
`

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    statCPU
		wantErr string
	}{
		{name: "linux 6", in: statSample,
			want: statCPU{total: 373948 + 377 + 94804 + 225914 + 964 + 0 + 3984 + 290, idle: 225914 + 964, steal: 290, online: 2, running: 3}},
		{name: "no steal column", in: "cpu 10 0 5 80 5 0 0\ncpu0 10 0 5 80 5 0 0\nprocs_running 1\n",
			want: statCPU{total: 100, idle: 85, online: 1, running: 1}},
		{name: "cpu lines only count digits", in: "cpu 1 0 0 1 0\ncpufreq 3\ncpu12 1 0 0 1 0\nprocs_running 0\n",
			want: statCPU{total: 2, idle: 1, online: 1}},
		{name: "empty", in: "", wantErr: `no "cpu" line`},
		{name: "no procs_running", in: "cpu 1 2 3 4 5\n", wantErr: "no procs_running"},
		{name: "short cpu line", in: "cpu 1 2 3\nprocs_running 1\n", wantErr: "at least 4"},
		{name: "not a number", in: "cpu 1 x 3 4\nprocs_running 1\n", wantErr: "column 2"},
		{name: "negative running", in: "cpu 1 2 3 4\nprocs_running -1\n", wantErr: "not a count"},
		{name: "overflow", in: "cpu 18446744073709551615 1 0 0\nprocs_running 1\n", wantErr: "overflows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParsePressure(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr string
	}{
		{name: "kernel 6", in: "some avg10=35.87 avg60=56.49 avg300=60.85 total=1814090046\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
			want: 1814090046 * time.Microsecond},
		{name: "some only (before 5.13)", in: "some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n", want: 7 * time.Microsecond},
		{name: "no some", in: "full avg10=0.00 total=5\n", wantErr: `no "some"`},
		{name: "no total", in: "some avg10=1.00\n", wantErr: "no total"},
		{name: "bad total", in: "some total=-4\n", wantErr: "not a count"},
		{name: "huge total", in: "some total=9223372036854775807\n", wantErr: "not a count"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePressure([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte(statSample))
	f.Add([]byte("cpu 1 2 3 4\nprocs_running 1\n"))
	f.Add([]byte("cpu 18446744073709551615 1 0 0\nprocs_running 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseStat(b)
		if err != nil {
			return
		}
		if s.idle+s.steal > s.total || s.idle > s.total || s.online < 0 || s.running < 0 {
			t.Fatalf("inconsistent %+v from %q", s, b)
		}
	})
}

func FuzzParsePressure(f *testing.F) {
	f.Add([]byte("some avg10=35.87 avg60=56.49 avg300=60.85 total=1814090046\nfull avg10=0.00 total=0\n"))
	f.Add([]byte("some total=x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parsePressure(b)
		if err == nil && d < 0 {
			t.Fatalf("negative total %v from %q", d, b)
		}
	})
}

func TestParseSchedstat(t *testing.T) {
	tests := []struct {
		in      string
		want    schedTimes
		wantErr string
	}{
		{"155277645 217938261 578\n", schedTimes{run: 155277645, wait: 217938261}, ""},
		{"1 2", schedTimes{run: 1, wait: 2}, ""},
		{"1", schedTimes{}, "1 fields"},
		{"1 -2 3", schedTimes{}, `field 2 "-2"`},
		{"x 2 3", schedTimes{}, `field 1 "x"`},
	}
	for _, tc := range tests {
		got, err := parseSchedstat([]byte(tc.in))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}
