package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trendtactics/loadlab/scenarios"
)

// maxPlaylist bounds the bytes of a playlist read.
const maxPlaylist = 1 << 20

// variant is one EXT-X-STREAM-INF entry of a master playlist.
type variant struct {
	uri        string
	bandwidth  int64
	resolution string // WxH, "" when not given
}

// parseMaster returns the variants of an HLS master playlist: each EXT-X-STREAM-INF line and
// the URI on the next line that is neither empty nor a tag.
func parseMaster(body []byte) []variant {
	var out []variant
	var cur *variant
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "#EXT-X-STREAM-INF:"):
			cur = &variant{}
			for _, attr := range splitAttrs(strings.TrimPrefix(line, "#EXT-X-STREAM-INF:")) {
				k, v, _ := strings.Cut(attr, "=")
				switch k {
				case "BANDWIDTH":
					cur.bandwidth, _ = strconv.ParseInt(v, 10, 64)
				case "RESOLUTION":
					cur.resolution = v
				}
			}
		case strings.HasPrefix(line, "#"):
		case cur != nil:
			cur.uri = line
			out = append(out, *cur)
			cur = nil
		}
	}
	return out
}

// splitAttrs splits an attribute list at commas outside quotes.
func splitAttrs(s string) []string {
	var out []string
	quoted, from := false, 0
	for i, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			out = append(out, s[from:i])
			from = i + 1
		}
	}
	return append(out, s[from:])
}

// parseMedia returns the segment URIs of a media playlist (the URI lines; EXTINF precedes each).
func parseMedia(body []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// pickVariant chooses the rendition: lowest or highest BANDWIDTH, or the variant whose URI has a
// path element named rendition (480p/index.m3u8) or whose RESOLUTION height is its number (480p → WxH480).
func pickVariant(vs []variant, rendition string) (variant, bool) {
	if len(vs) == 0 {
		return variant{}, false
	}
	switch rendition {
	case "", "lowest", "highest":
		best := vs[0]
		for _, v := range vs[1:] {
			if rendition == "highest" && v.bandwidth > best.bandwidth || rendition != "highest" && v.bandwidth < best.bandwidth {
				best = v
			}
		}
		return best, true
	}
	for _, v := range vs {
		if u, err := url.Parse(v.uri); err == nil && slicesContains(strings.Split(u.Path, "/"), rendition) {
			return v, true
		}
	}
	if h, ok := strings.CutSuffix(rendition, "p"); ok {
		for _, v := range vs {
			if _, vh, ok := strings.Cut(v.resolution, "x"); ok && vh == h {
				return v, true
			}
		}
	}
	return variant{}, false
}

func slicesContains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// doVideo plays the start of an HLS video as a player does: the master playlist, the chosen
// rendition's media playlist, then the first Segments segments one after another. The
// request's sample is the video start time (until the first segment arrived); a second
// sample under <name>/segments is the time until the last segment arrived.
func (e *engine) doVideo(k kindRun) bool {
	r := k.st.req
	opts := scenarios.VideoOptions{Rendition: scenarios.DefaultVideoRendition, Segments: scenarios.DefaultVideoSegments}
	if r.Video != nil {
		opts = *r.Video
	}
	rctx, cancel := context.WithTimeout(k.ctx, e.timeoutOf(r))
	defer cancel()
	s := sample{name: k.st.idx, at: k.origin, method: http.MethodGet}
	all := sample{name: k.st.extra, at: k.origin, method: http.MethodGet}
	if e.opts.Results != nil {
		s.url = k.req.URL.String()
		all.url = s.url
	}
	e.sentBy[k.st.idx].Add(1)
	if k.st.extra >= 0 {
		e.sentBy[k.st.extra].Add(1)
	}
	var bytesIn int64
	firstDone := false
	fail := func(fe *fetchErr) bool {
		if e.failed(k.ctx, &s, fe) {
			return false
		}
		end := time.Since(e.start)
		if !firstDone {
			s.latency, s.service = end-k.origin, end-k.sendAt
			s.bytesIn = uint64(bytesIn)
			e.samples <- s
		}
		if k.st.extra >= 0 {
			all.out, all.err, all.code = s.out, s.err, s.code
			if firstDone {
				all.out, all.err, all.code = fe.out, fe.Error(), uint16(fe.code)
			}
			all.latency, all.service = end-k.origin, end-k.sendAt
			all.bytesIn = uint64(bytesIn)
			e.samples <- all
		}
		return false
	}

	master := k.req.URL
	body, n, code, fe := e.fetch(rctx, k.client, master.String(), k.req.Header, maxPlaylist, r.Expect)
	bytesIn += n
	s.code = uint16(code)
	if fe != nil {
		return fail(fe)
	}
	v, ok := pickVariant(parseMaster(body), opts.Rendition)
	if !ok {
		return fail(&fetchErr{url: master.String(), out: outStatus, code: code,
			err: fmt.Sprintf("master playlist has no rendition %q", opts.Rendition)})
	}
	mediaURL, err := master.Parse(v.uri)
	if err != nil {
		return fail(&fetchErr{url: master.String(), out: outTransport, err: "bad rendition URI: " + err.Error()})
	}
	body, n, code, fe = e.fetch(rctx, k.client, mediaURL.String(), k.req.Header, maxPlaylist, nil)
	bytesIn += n
	if fe != nil {
		return fail(fe)
	}
	segs := parseMedia(body)
	if len(segs) < opts.Segments {
		return fail(&fetchErr{url: mediaURL.String(), out: outStatus, code: code,
			err: fmt.Sprintf("media playlist has %d segments, want %d", len(segs), opts.Segments)})
	}
	hdr := k.req.Header.Clone()
	hdr.Del("Accept")
	for i, seg := range segs[:opts.Segments] {
		su, err := mediaURL.Parse(seg)
		if err != nil {
			return fail(&fetchErr{url: mediaURL.String(), out: outTransport, err: "bad segment URI: " + err.Error()})
		}
		_, n, _, fe = e.fetch(rctx, k.client, su.String(), hdr, 0, nil)
		bytesIn += n
		if fe != nil {
			return fail(fe)
		}
		if i == 0 {
			end := time.Since(e.start)
			s.latency, s.service = end-k.origin, end-k.sendAt
			s.bytesIn = uint64(bytesIn)
			checkMaxLatency(&s, r.Expect, "video start")
			e.samples <- s
			firstDone = true
		}
	}
	if k.st.extra >= 0 {
		end := time.Since(e.start)
		all.latency, all.service = end-k.origin, end-k.sendAt
		all.bytesIn, all.code = uint64(bytesIn), s.code
		e.samples <- all
	}
	return true
}
