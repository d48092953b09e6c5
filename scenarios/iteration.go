package scenarios

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
)

// NewIteration returns the state of iteration seq of this spec for a run seed.
// Equal (spec, seq, seed) give equal renderings when the same templates are
// executed in the same order. Its random source is a PCG seeded from (seed, seq).
func (s *Spec) NewIteration(seq uint64, seed int64) *Iteration {
	it := &Iteration{
		Seq:  seq,
		Vars: make(map[string]string, 2),
		spec: s,
		seed: seed,
		pcg:  *rand.NewPCG(mix(uint64(seed)), mix(seq^0x9e3779b97f4a7c15)),
	}
	it.rng = *rand.New(&it.pcg) // inline: an allocation less per iteration
	return it
}

// Rand returns the iteration's deterministic random source.
func (it *Iteration) Rand() *rand.Rand { return &it.rng }

// Seed returns the run seed the iteration was created with.
func (it *Iteration) Seed() int64 { return it.seed }

// Pick chooses a workload item by weight with the iteration's random source.
// It returns nil for an empty workload.
func (s *Spec) Pick(it *Iteration) *Item {
	total := 0
	for _, w := range s.Workload {
		total += max(w.Weight, 0)
	}
	if total <= 0 {
		if len(s.Workload) == 0 {
			return nil
		}
		return s.Workload[0]
	}
	n := it.rng.IntN(total)
	for _, w := range s.Workload {
		n -= max(w.Weight, 0)
		if n < 0 {
			return w
		}
	}
	return s.Workload[len(s.Workload)-1]
}

// rowIndex is the row of pool this iteration reads: seq mod len for a
// sequential pool, a hash of (seed, seq, pool name) for a random one, so the
// choice is fixed per iteration and pool without any state.
func (it *Iteration) rowIndex(p *Pool) int {
	n := uint64(len(p.Rows))
	if p.Order == "random" {
		h := uint64(14695981039346656037) // FNV-1a of the pool name
		for i := 0; i < len(p.Name); i++ {
			h ^= uint64(p.Name[i])
			h *= 1099511628211
		}
		return int(mix(mix(uint64(it.seed)^h)+it.Seq) % n)
	}
	return int(it.Seq % n)
}

// mix is splitmix64's finalizer.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// randInt returns a uniform integer in [lo, hi].
func (it *Iteration) randInt(lo, hi int64) int64 {
	span := uint64(hi-lo) + 1
	if span == 0 { // the whole int64 range
		return int64(it.rng.Uint64())
	}
	return lo + int64(it.rng.Uint64N(span))
}

// appendUUID appends a random version 4 UUID drawn from the iteration's source.
func (it *Iteration) appendUUID(dst []byte) []byte {
	const hex = "0123456789abcdef"
	var u [16]byte
	a, b := it.rng.Uint64(), it.rng.Uint64()
	for i := range 8 {
		u[i] = byte(a >> (56 - 8*i))
		u[8+i] = byte(b >> (56 - 8*i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[c>>4], hex[c&0xf])
	}
	return dst
}

// Build renders the request for an iteration against a base URL (the target's URL or the lab's edge).
// Spec-level default headers are already merged into r.Headers at load time.
// A rendered URL that starts with http:// or https:// is used as is.
func (r *Request) Build(it *Iteration, baseURL string) (*http.Request, error) {
	u, err := r.RenderURL(it, baseURL)
	if err != nil {
		return nil, err
	}
	var body io.Reader
	if r.Body != nil {
		b, err := r.Body.Execute(it)
		if err != nil {
			return nil, fmt.Errorf("render body: %w", err)
		}
		body = strings.NewReader(b)
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for k, t := range r.Headers {
		v, err := t.Execute(it)
		if err != nil {
			return nil, fmt.Errorf("render header %s: %w", k, err)
		}
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	return req, nil
}

// RenderURL renders the request's URL for an iteration against a base URL, as Build does
// first (a client that builds its own request renders the URL, then the body, then the
// headers, in Build's order, so that equal iterations render equally).
func (r *Request) RenderURL(it *Iteration, baseURL string) (string, error) {
	u, err := r.URL.Execute(it)
	if err != nil {
		return "", fmt.Errorf("render url: %w", err)
	}
	if !isAbsURL(u) {
		u = joinURL(baseURL, u)
	}
	return u, nil
}

func isAbsURL(u string) bool {
	return hasPrefixFold(u, "http://") || hasPrefixFold(u, "https://")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// joinURL appends a relative URL (path, query) to a base URL.
func joinURL(base, rel string) string {
	base = strings.TrimRight(base, "/")
	if rel == "" {
		return base + "/"
	}
	if rel[0] != '/' && rel[0] != '?' {
		return base + "/" + rel
	}
	return base + rel
}
