package scenarios

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses a duration in Go syntax ("250ms", "1.5s", "1m30s").
// A bare number other than 0 is an error: the unit is never guessed.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil && s != "0" {
		return 0, fmt.Errorf("duration %s needs a unit, like %ss or %sms", s, s, s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q, want a number with a unit (ns, us, ms, s, m, h), like 250ms or 1m30s", s)
	}
	return d, nil
}

// byteUnits maps a lower-case unit to its size: k, kb = 1000; ki, kib = 1024; and so on.
func byteUnits() map[string]float64 {
	return map[string]float64{
		"": 1, "b": 1,
		"k": 1e3, "kb": 1e3, "ki": 1 << 10, "kib": 1 << 10,
		"m": 1e6, "mb": 1e6, "mi": 1 << 20, "mib": 1 << 20,
		"g": 1e9, "gb": 1e9, "gi": 1 << 30, "gib": 1 << 30,
	}
}

// ParseByteSize parses a size: a number and an optional unit, case-insensitive:
// b, kb (1000), kib (1024), mb, mib, gb, gib ("10kb", "1MiB", "1.5mb", "512").
func ParseByteSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	mult, ok := byteUnits()[unit]
	n, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil {
		return 0, fmt.Errorf("bad byte size %q, want a number and a unit (b, kb, kib, mb, mib, gb, gib), like 10kb or 1MiB", s)
	}
	v := n * mult
	if v > math.MaxInt64/2 {
		return 0, fmt.Errorf("byte size %q is too large", s)
	}
	return int64(math.Round(v)), nil
}

// ParseByteRate parses a rate in bytes per second: a byte size with an optional "/s" ("1mb", "256kb/s").
func ParseByteRate(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if base, ok := strings.CutSuffix(strings.ToLower(t), "/s"); ok {
		t = base
	}
	n, err := ParseByteSize(t)
	if err != nil {
		return 0, fmt.Errorf("bad rate %q, want bytes per second like 1mb or 256kb/s", s)
	}
	return n, nil
}

// ParseFraction parses a share: a percentage ("0.1%", "50%") or a fraction from 0 to 1 ("0.5").
func ParseFraction(s string) (float64, error) {
	t := strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(t, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(v) || v < 0 || v > 100 {
			return 0, fmt.Errorf("bad percentage %q, want 0%% to 100%%", s)
		}
		return math.Round(v*1e10) / 1e12, nil // 99.9% is 0.999, not 0.9990000000000001
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) {
		return 0, fmt.Errorf("bad share %q, want a percentage like 50%% or a fraction from 0 to 1", s)
	}
	if v < 0 || v > 1 {
		return 0, fmt.Errorf("share %s is outside 0..1 (write %s%% for a percentage)", s, t)
	}
	return v, nil
}
