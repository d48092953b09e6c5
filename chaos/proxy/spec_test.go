package proxy_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/chaos/proxy"
)

func TestValidate(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		spec proxy.ToxicSpec
		want []string // substrings of the error; none means valid
	}{
		{"latency", proxy.ToxicSpec{Kind: "latency", Latency: 50 * ms, Jitter: 10 * ms}, nil},
		{"jitter only", proxy.ToxicSpec{Kind: "latency", Jitter: 10 * ms}, nil},
		{"bandwidth", proxy.ToxicSpec{Kind: "bandwidth", Rate: 1000, Direction: proxy.Upstream, Toxicity: 0.5}, nil},
		{"slow-close", proxy.ToxicSpec{Kind: "slow-close", Delay: ms}, nil},
		{"timeout forever", proxy.ToxicSpec{Kind: "timeout"}, nil},
		{"reset", proxy.ToxicSpec{Kind: "reset", Timeout: ms, Direction: proxy.Both}, nil},
		{"limit-data zero", proxy.ToxicSpec{Kind: "limit-data"}, nil},
		{"down", proxy.ToxicSpec{Kind: "down", Toxicity: 1}, nil},

		{"no kind", proxy.ToxicSpec{}, []string{"invalid unknown toxic: toxic kind is missing (want one of latency, bandwidth, slow-close, timeout, reset, limit-data, down)"}},
		{"unknown kind", proxy.ToxicSpec{Kind: "delay"}, []string{`unknown toxic kind "delay"`}},
		{"zero latency", proxy.ToxicSpec{Kind: "latency"}, []string{"invalid latency toxic: latency: a latency toxic needs latency or jitter above zero"}},
		{"negative latency", proxy.ToxicSpec{Kind: "latency", Latency: -ms, Jitter: -ms}, []string{"latency -1ms: must not be negative", "jitter -1ms: must not be negative"}},
		{"no rate", proxy.ToxicSpec{Kind: "bandwidth"}, []string{"rate 0: must be above zero bytes per second"}},
		{"no delay", proxy.ToxicSpec{Kind: "slow-close"}, []string{"delay 0s: must be above zero"}},
		{"negative timeout", proxy.ToxicSpec{Kind: "timeout", Timeout: -ms}, []string{"timeout -1ms: must not be negative"}},
		{"negative bytes", proxy.ToxicSpec{Kind: "limit-data", Bytes: -1}, []string{"bytes -1: must not be negative"}},
		{"bad direction", proxy.ToxicSpec{Kind: "down", Direction: "sideways"}, []string{`direction "sideways": want upstream, downstream or both`}},
		{"toxicity above 1", proxy.ToxicSpec{Kind: "down", Toxicity: 1.5}, []string{"toxicity 1.5: must be between 0 and 1"}},
		{"toxicity NaN", proxy.ToxicSpec{Kind: "down", Toxicity: math.NaN()}, []string{"toxicity NaN: must be between 0 and 1"}},
		{"foreign param", proxy.ToxicSpec{Kind: "bandwidth", Rate: 10, Latency: ms}, []string{"latency: not a parameter of bandwidth (it takes rate)"}},
		{"param on down", proxy.ToxicSpec{Kind: "down", Bytes: 3}, []string{"bytes: not a parameter of down, which takes none"}},
		{"bad name", proxy.ToxicSpec{Kind: "down", Name: "a b"}, []string{`toxic name "a b": must not contain spaces or slashes`}},
		{"every problem at once", proxy.ToxicSpec{Kind: "latency", Direction: "x", Toxicity: -1, Rate: 5}, []string{
			"needs latency or jitter", `direction "x"`, "toxicity -1", "rate: not a parameter of latency (it takes latency, jitter)",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			_, nerr := proxy.NewToxic(tc.spec)
			if len(tc.want) == 0 {
				if err != nil || nerr != nil {
					t.Fatalf("Validate() = %v, NewToxic: %v; want valid", err, nerr)
				}
				return
			}
			if err == nil || nerr == nil {
				t.Fatalf("Validate() = %v, NewToxic: %v; want errors %q", err, nerr, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestNewToxicBuildsTheKind(t *testing.T) {
	for _, kind := range proxy.Kinds() {
		spec := proxy.ToxicSpec{Kind: kind}
		switch kind {
		case proxy.KindLatency:
			spec.Latency = time.Millisecond
		case proxy.KindBandwidth:
			spec.Rate = 1
		case proxy.KindSlowClose:
			spec.Delay = time.Millisecond
		}
		tx, err := proxy.NewToxic(spec)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		var ok bool
		switch kind {
		case proxy.KindLatency:
			_, ok = tx.(*proxy.Latency)
		case proxy.KindBandwidth:
			_, ok = tx.(*proxy.Bandwidth)
		case proxy.KindSlowClose:
			_, ok = tx.(*proxy.SlowClose)
		case proxy.KindTimeout:
			_, ok = tx.(*proxy.Timeout)
		case proxy.KindReset:
			_, ok = tx.(*proxy.Reset)
		case proxy.KindLimitData:
			_, ok = tx.(*proxy.LimitData)
		case proxy.KindDown:
			_, ok = tx.(*proxy.Down)
		}
		if !ok {
			t.Errorf("NewToxic(%s) = %T", kind, tx)
		}
	}
}

func TestNewRejectsBadArguments(t *testing.T) {
	for _, tc := range []struct {
		name, listen string
		ups          []string
		want         string
	}{
		{"", "", []string{"127.0.0.1:1"}, "name is empty"},
		{"p", "nonsense", []string{"127.0.0.1:1"}, `new proxy "p": listen address`},
		{"p", "", nil, `new proxy "p": no upstreams`},
		{"p", "", []string{"localhost"}, `upstream "localhost"`},
	} {
		if _, err := proxy.New(tc.name, tc.listen, tc.ups); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q, %q, %q) = %v, want %q", tc.name, tc.listen, tc.ups, err, tc.want)
		}
	}
}

// TestEveryKindTakesItsOwnParams checks the registry of kinds against ToxicSpec: each kind
// accepts the parameters it lists and rejects each of the others by name.
func TestEveryKindTakesItsOwnParams(t *testing.T) {
	takes := map[string][]string{
		proxy.KindLatency:   {"latency", "jitter"},
		proxy.KindBandwidth: {"rate"},
		proxy.KindSlowClose: {"delay"},
		proxy.KindTimeout:   {"timeout"},
		proxy.KindReset:     {"timeout"},
		proxy.KindLimitData: {"bytes"},
		proxy.KindDown:      nil,
	}
	if len(proxy.Kinds()) != len(takes) {
		t.Fatalf("Kinds() = %v, want the %d kinds of this test", proxy.Kinds(), len(takes))
	}
	all := proxy.ToxicSpec{Latency: time.Millisecond, Jitter: time.Millisecond, Rate: 1, Bytes: 1, Timeout: time.Millisecond, Delay: time.Millisecond}
	for _, kind := range proxy.Kinds() {
		own, ok := takes[kind]
		if !ok {
			t.Errorf("Kinds() lists %q, which this test does not know", kind)
			continue
		}
		spec := all
		spec.Kind = kind
		err := spec.Validate()
		if err == nil {
			t.Errorf("%s with every parameter set: Validate() = nil", kind)
			continue
		}
		for _, p := range []string{"latency", "jitter", "rate", "bytes", "timeout", "delay"} {
			foreign := p + ": not a parameter of " + kind
			switch {
			case slices.Contains(own, p) && strings.Contains(err.Error(), foreign):
				t.Errorf("%s rejects its own parameter %s: %v", kind, p, err)
			case !slices.Contains(own, p) && !strings.Contains(err.Error(), foreign):
				t.Errorf("%s does not reject %s: %v", kind, p, err)
			}
		}
	}
}

// TestForeignParamIsOneProblem checks that a parameter a kind does not take is reported
// once, as foreign, and not checked again as if the kind took it.
func TestForeignParamIsOneProblem(t *testing.T) {
	err := proxy.ToxicSpec{Kind: "bandwidth", Rate: 10, Latency: -time.Millisecond}.Validate()
	want := "invalid bandwidth toxic: latency: not a parameter of bandwidth (it takes rate)"
	if err == nil || err.Error() != want {
		t.Fatalf("Validate() = %v\nwant %s", err, want)
	}
}
