package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/trendtactics/loadlab/scenarios"
	"golang.org/x/net/html"
)

// maxAssets bounds the assets fetched for one page.
const maxAssets = 256

// kindRun is what a request of a kind needs from do: the rendered request, the client of the
// iteration (its cookie jar), the latency origin and the actual send time.
type kindRun struct {
	ctx    context.Context
	client *http.Client
	it     *scenarios.Iteration
	req    *http.Request
	st     *estep
	origin time.Duration // latency origin, offset from e.start
	sendAt time.Duration
}

// doKind runs a request of a kind (page, video, websocket) and records it; it returns false
// when the iteration must end.
func (e *engine) doKind(k kindRun) bool {
	switch k.st.req.Kind {
	case scenarios.KindPage:
		return e.doPage(k)
	case scenarios.KindVideo:
		return e.doVideo(k)
	case scenarios.KindWebSocket:
		return e.doWebSocket(k)
	case scenarios.KindBrowser:
		return e.doBrowser(k)
	}
	e.samples <- sample{name: k.st.idx, out: outTransport, at: k.origin, err: "unknown request kind " + k.st.req.Kind}
	return false
}

// fetchErr is a failed GET: no response (transport or timeout) or an unexpected status.
type fetchErr struct {
	url  string
	out  outcome
	code int
	err  string
}

func (f *fetchErr) Error() string { return f.url + ": " + f.err }

// fetch GETs u with the iteration's client and headers and returns the body (up to limit
// bytes, the rest discarded) and its length. ok lists the accepted statuses (nil: 2xx/3xx).
func (e *engine) fetch(ctx context.Context, client *http.Client, u string, hdr http.Header, limit int64, exp *scenarios.Expect) ([]byte, int64, int, *fetchErr) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, 0, &fetchErr{url: u, out: outTransport, err: err.Error()}
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	var body []byte
	var n int64
	if err == nil {
		if limit > 0 {
			body, err = io.ReadAll(io.LimitReader(resp.Body, limit))
			n = int64(len(body))
		}
		if err == nil {
			var m int64
			m, err = io.Copy(io.Discard, resp.Body)
			n += m
		}
		resp.Body.Close()
	}
	if err != nil {
		out := outTransport
		if ctx.Err() == context.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err) {
			out = outTimeout
		}
		return nil, n, 0, &fetchErr{url: u, out: out, err: err.Error()}
	}
	if !statusExpected(exp, resp.StatusCode) {
		return body, n, resp.StatusCode, &fetchErr{url: u, out: outStatus, code: resp.StatusCode, err: resp.Status}
	}
	return body, n, resp.StatusCode, nil
}

// timeoutOf is the request's timeout, else the engine's.
func (e *engine) timeoutOf(r *scenarios.Request) time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return e.timeout
}

// failed fills s from a fetch error; it reports whether the run itself was stopped (then
// nothing is recorded).
func (e *engine) failed(ctx context.Context, s *sample, fe *fetchErr) bool {
	if ctx.Err() != nil {
		e.cancelled.Add(1)
		return true
	}
	s.out, s.err = fe.out, fe.Error()
	if fe.code != 0 {
		s.code = uint16(fe.code)
	}
	return false
}

// doPage fetches an HTML page and then its same-origin assets (stylesheets, icons, scripts,
// images) with at most Page.Connections requests at a time, as a browser does. One sample:
// latency and service time end when the last asset arrived; a failed asset fails the page.
func (e *engine) doPage(k kindRun) bool {
	r := k.st.req
	conns := scenarios.DefaultPageConnections
	if r.Page != nil && r.Page.Connections > 0 {
		conns = r.Page.Connections
	}
	rctx, cancel := context.WithTimeout(k.ctx, e.timeoutOf(r))
	defer cancel()
	s := sample{name: k.st.idx, at: k.origin, method: http.MethodGet}
	if e.opts.Results != nil {
		s.url = k.req.URL.String()
	}
	e.sentBy[k.st.idx].Add(1)
	body, n, code, fe := e.fetch(rctx, k.client, k.req.URL.String(), k.req.Header, maxBody, r.Expect)
	s.bytesIn, s.code = uint64(n), uint16(code)
	if fe == nil {
		assets := pageAssets(k.req.URL, body)
		hdr := k.req.Header.Clone()
		hdr.Del("Accept")
		var (
			mu    sync.Mutex
			first *fetchErr
			wg    sync.WaitGroup
			sem   = make(chan struct{}, conns)
		)
		for _, a := range assets {
			sem <- struct{}{}
			wg.Add(1)
			go func() { // ends when its GET is done (bounded by rctx)
				defer func() { <-sem; wg.Done() }()
				_, an, _, afe := e.fetch(rctx, k.client, a, hdr, 0, nil)
				mu.Lock()
				s.bytesIn += uint64(an)
				if afe != nil && first == nil {
					first = afe
					first.err = "asset " + afe.err
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		fe = first
	}
	end := time.Since(e.start)
	s.latency, s.service = end-k.origin, end-k.sendAt
	if fe != nil {
		if e.failed(k.ctx, &s, fe) {
			return false
		}
		e.samples <- s
		return false
	}
	checkMaxLatency(&s, r.Expect, "page")
	e.samples <- s
	return true
}

// checkMaxLatency judges expect.latency of a request of a kind: what names the figure in the
// check's message ("page took 2.1s, more than 2s").
func checkMaxLatency(s *sample, exp *scenarios.Expect, what string) {
	if exp == nil || exp.MaxLatency <= 0 {
		return
	}
	s.checked = true
	if s.latency > exp.MaxLatency {
		s.checkFailed = true
		s.err = fmt.Sprintf("check: %s took %s, more than %s", what, s.latency.Round(time.Millisecond), exp.MaxLatency)
	}
}

// pageAssets returns the same-origin URLs of a page's stylesheets and icons (link href),
// scripts (script src) and images (img src), each once, in document order, at most maxAssets.
func pageAssets(page *url.URL, body []byte) []string {
	var out []string
	seen := map[string]bool{}
	base := page
	add := func(ref string) {
		ref = strings.TrimSpace(ref)
		if ref == "" || strings.HasPrefix(ref, "data:") || len(out) >= maxAssets {
			return
		}
		u, err := base.Parse(ref)
		if err != nil || u.Scheme != page.Scheme || u.Host != page.Host {
			return
		}
		u.Fragment = ""
		s := u.String()
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return out
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		name, hasAttr := z.TagName()
		if !hasAttr {
			continue
		}
		attrs := map[string]string{}
		for {
			k, v, more := z.TagAttr()
			attrs[string(k)] = string(v)
			if !more {
				break
			}
		}
		switch string(name) {
		case "base":
			if h, ok := attrs["href"]; ok {
				if u, err := page.Parse(h); err == nil {
					base = u
				}
			}
		case "link":
			rel := " " + strings.ToLower(attrs["rel"]) + " "
			if strings.Contains(rel, " stylesheet ") || strings.Contains(rel, "icon") ||
				strings.Contains(rel, " preload ") || strings.Contains(rel, " modulepreload ") {
				add(attrs["href"])
			}
		case "script", "img":
			add(attrs["src"])
		}
	}
}
