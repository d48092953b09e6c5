package scenarios_test

import (
	"testing"
	"time"

	"github.com/trendtactics/loadlab/scenarios"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"250ms", 250 * time.Millisecond, ""},
		{"1.5s", 1500 * time.Millisecond, ""},
		{"1m30s", 90 * time.Second, ""},
		{"0", 0, ""},
		{" 2h ", 2 * time.Hour, ""},
		{"-5s", -5 * time.Second, ""},
		{"10", 0, "duration 10 needs a unit, like 10s or 10ms"},
		{"5 seconds", 0, `bad duration "5 seconds", want a number with a unit (ns, us, ms, s, m, h), like 250ms or 1m30s`},
		{"", 0, "empty duration"},
	}
	for _, tt := range tests {
		got, err := scenarios.ParseDuration(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseDuration(%q) error %v, want %s", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"512", 512, true},
		{"10kb", 10000, true},
		{"10KB", 10000, true},
		{"1MiB", 1 << 20, true},
		{"1.5mb", 1500000, true},
		{"64KiB", 65536, true},
		{"2 gib", 2 << 30, true},
		{"1k", 1000, true},
		{"10 parsecs", 0, false},
		{"kb", 0, false},
		{"-1kb", 0, false},
		{"1e3kb", 0, false},
		{"99999999999999999999gb", 0, false},
	}
	for _, tt := range tests {
		got, err := scenarios.ParseByteSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	for in, want := range map[string]int64{"1mb/s": 1000000, "256KB/S": 256000, "1mb": 1000000} {
		if got, err := scenarios.ParseByteRate(in); err != nil || got != want {
			t.Errorf("ParseByteRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := scenarios.ParseByteRate("fast"); err == nil {
		t.Error("ParseByteRate(fast): no error")
	}
}

func TestParseFraction(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0.1%", 0.001, true},
		{"99.9%", 0.999, true},
		{"99.99%", 0.9999, true},
		{"50%", 0.5, true},
		{"100%", 1, true},
		{"0.25", 0.25, true},
		{"1", 1, true},
		{"0", 0, true},
		{"150%", 0, false},
		{"-1%", 0, false},
		{"2", 0, false},
		{"half", 0, false},
		{"NaN", 0, false},
		{"NaN%", 0, false},
	}
	for _, tt := range tests {
		got, err := scenarios.ParseFraction(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseFraction(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
