package video_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reference-app/video"
)

// newServer mounts a Library on the routes of the academy's HTTP contract.
func newServer(t *testing.T, lib *video.Library) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/lessons/{lesson}/video/master.m3u8", func(w http.ResponseWriter, r *http.Request) {
		lib.ServeMaster(w, r, r.PathValue("lesson"))
	})
	mux.HandleFunc("/v1/lessons/{lesson}/video/{rendition}/{file}", func(w http.ResponseWriter, r *http.Request) {
		file := r.PathValue("file")
		if file == "index.m3u8" {
			lib.ServeMedia(w, r, r.PathValue("lesson"), r.PathValue("rendition"))
			return
		}
		n, err := strconv.Atoi(strings.TrimSuffix(file, ".ts"))
		if err != nil || !strings.HasSuffix(file, ".ts") {
			n = -1
		}
		lib.ServeSegment(w, r, r.PathValue("lesson"), r.PathValue("rendition"), n)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// tags parses the lines of a playlist into tag lines and URI lines, in order.
type entry struct{ tag, uri string }

func parsePlaylist(t *testing.T, body []byte) []entry {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(body))
	var out []entry
	var pending string
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			if line != "#EXTM3U" {
				t.Fatalf("playlist starts with %q, want #EXTM3U", line)
			}
			first = false
			continue
		}
		switch {
		case line == "":
		case strings.HasPrefix(line, "#EXT-X-STREAM-INF:"), strings.HasPrefix(line, "#EXTINF:"):
			pending = line
		case strings.HasPrefix(line, "#"):
			out = append(out, entry{tag: line})
		default:
			if pending == "" {
				t.Fatalf("URI %q without a preceding tag", line)
			}
			out = append(out, entry{tag: pending, uri: line})
			pending = ""
		}
	}
	return out
}

func TestMasterListsEveryRendition(t *testing.T) {
	lib := video.New(video.Options{})
	srv := newServer(t, lib)
	resp, body := testutil.Get(t, http.DefaultClient, srv.URL+"/v1/lessons/lesson-1/video/master.m3u8")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.apple.mpegurl" {
		t.Errorf("Content-Type %q", ct)
	}
	testutil.Golden(t, filepath.Join("testdata", t.Name()+".golden.m3u8"), body)
	var got []string
	for _, e := range parsePlaylist(t, body) {
		if e.uri == "" {
			continue
		}
		got = append(got, e.uri)
		if !strings.Contains(e.tag, "BANDWIDTH=") || !strings.Contains(e.tag, "RESOLUTION=") {
			t.Errorf("stream %s: tag %q lacks BANDWIDTH or RESOLUTION", e.uri, e.tag)
		}
	}
	var want []string
	for _, r := range lib.Renditions() {
		want = append(want, r.Name+"/index.m3u8")
	}
	if strings.Join(got, " ") != strings.Join(want, " ") || len(want) != 4 {
		t.Errorf("streams %v, want %v", got, want)
	}
	// Every listed media playlist resolves.
	for _, uri := range got {
		if resp, body := testutil.Get(t, http.DefaultClient, srv.URL+"/v1/lessons/lesson-1/video/"+uri); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d: %s", uri, resp.StatusCode, body)
		}
	}
}

func TestMediaPlaylistMatchesDuration(t *testing.T) {
	lib := video.New(video.Options{})
	srv := newServer(t, lib)
	seen := map[time.Duration]bool{}
	for i := range 20 {
		lesson := fmt.Sprintf("lesson-%d", i)
		d := lib.Duration(lesson)
		seen[d] = true
		if d < 60*time.Second || d > 600*time.Second {
			t.Fatalf("%s: duration %v outside [60s, 600s]", lesson, d)
		}
		resp, body := testutil.Get(t, http.DefaultClient, srv.URL+"/v1/lessons/"+lesson+"/video/480p/index.m3u8")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", lesson, resp.StatusCode)
		}
		if i == 0 {
			testutil.Golden(t, filepath.Join("testdata", t.Name()+".golden.m3u8"), body)
		}
		var total float64
		var segments int
		var target float64
		var ended bool
		for _, e := range parsePlaylist(t, body) {
			switch {
			case strings.HasPrefix(e.tag, "#EXT-X-TARGETDURATION:"):
				target, _ = strconv.ParseFloat(strings.TrimPrefix(e.tag, "#EXT-X-TARGETDURATION:"), 64)
			case e.tag == "#EXT-X-ENDLIST":
				ended = true
			case strings.HasPrefix(e.tag, "#EXTINF:"):
				secs, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(e.tag, "#EXTINF:"), ","), 64)
				if err != nil {
					t.Fatalf("%s: %q: %v", lesson, e.tag, err)
				}
				if secs <= 0 || secs > target {
					t.Errorf("%s: segment of %v s with target duration %v", lesson, secs, target)
				}
				if want := fmt.Sprintf("%d.ts", segments); e.uri != want {
					t.Errorf("%s: segment URI %q, want %q", lesson, e.uri, want)
				}
				total += secs
				segments++
			}
		}
		if !ended {
			t.Errorf("%s: no #EXT-X-ENDLIST", lesson)
		}
		if time.Duration(total*float64(time.Second)) != d {
			t.Errorf("%s: segments add up to %v s, want %v", lesson, total, d)
		}
		if want := int((d + 4*time.Second - 1) / (4 * time.Second)); segments != want || lib.Segments(lesson) != want {
			t.Errorf("%s: %d segments (Segments says %d), want %d", lesson, segments, lib.Segments(lesson), want)
		}
	}
	if len(seen) < 10 {
		t.Errorf("20 lessons share only %d durations: the hash does not spread", len(seen))
	}
}

func TestSegmentSizeAndDeterminism(t *testing.T) {
	lib := video.New(video.Options{})
	srv := newServer(t, lib)
	const lesson = "9f1c7c1e-4b8f-4d61-9d0e-3c2f1a0b7e55"
	last := lib.Segments(lesson) - 1
	lastSecs := int(lib.Duration(lesson)/time.Second) - 4*last
	for _, r := range lib.Renditions() {
		for _, n := range []int{0, last} {
			secs := 4
			if n == last {
				secs = lastSecs
			}
			url := fmt.Sprintf("%s/v1/lessons/%s/video/%s/%d.ts", srv.URL, lesson, r.Name, n)
			resp, body := testutil.Get(t, http.DefaultClient, url)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %d", url, resp.StatusCode)
			}
			if want := r.Bandwidth * secs / 8; len(body) != want {
				t.Errorf("%s: %d bytes, want %d (%d bit/s × %d s / 8)", url, len(body), want, r.Bandwidth, secs)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "video/mp2t" {
				t.Errorf("%s: Content-Type %q", url, ct)
			}
			if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") {
				t.Errorf("%s: Cache-Control %q", url, cc)
			}
			for i := 0; i < len(body); i += 188 {
				if body[i] != 0x47 {
					t.Fatalf("%s: byte %d is %#x, want sync byte 0x47", url, i, body[i])
				}
			}
			_, again := testutil.Get(t, http.DefaultClient, url)
			if !bytes.Equal(body, again) {
				t.Errorf("%s: second GET returned different bytes", url)
			}
		}
	}
	_, a := testutil.Get(t, http.DefaultClient, srv.URL+"/v1/lessons/"+lesson+"/video/240p/0.ts")
	_, b := testutil.Get(t, http.DefaultClient, srv.URL+"/v1/lessons/"+lesson+"/video/240p/1.ts")
	if bytes.Equal(a, b) {
		t.Error("segments 0 and 1 have the same bytes")
	}
	if zeros := bytes.Count(a, []byte{0}); zeros > len(a)/100 {
		t.Errorf("segment has %d zero bytes of %d: not pseudo-random", zeros, len(a))
	}
}

func TestSegmentRange(t *testing.T) {
	lib := video.New(video.Options{})
	srv := newServer(t, lib)
	url := srv.URL + "/v1/lessons/lesson-7/video/720p/3.ts"
	resp, full := testutil.Get(t, http.DefaultClient, url)
	if resp.StatusCode != http.StatusOK || len(full) != 2_500_000*4/8 {
		t.Fatalf("full GET: status %d, %d bytes", resp.StatusCode, len(full))
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	size := len(full)
	for _, tc := range []struct {
		rng        string
		start, end int // inclusive
	}{
		{"bytes=0-0", 0, 0},
		{"bytes=100-199", 100, 199},
		{"bytes=187-1000", 187, 1000},
		{"bytes=1234567-", 1234567, size - 1},
		{"bytes=-500", size - 500, size - 1},
		{"bytes=5-99999999", 5, size - 1},
	} {
		resp, body := testutil.Get(t, http.DefaultClient, url, "Range", tc.rng)
		if resp.StatusCode != http.StatusPartialContent {
			t.Errorf("%s: status %d, want 206", tc.rng, resp.StatusCode)
			continue
		}
		if want := fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end, size); resp.Header.Get("Content-Range") != want {
			t.Errorf("%s: Content-Range %q, want %q", tc.rng, resp.Header.Get("Content-Range"), want)
		}
		if !bytes.Equal(body, full[tc.start:tc.end+1]) {
			t.Errorf("%s: %d bytes differ from the full GET's bytes %d-%d", tc.rng, len(body), tc.start, tc.end)
		}
	}

	// Multi-range: multipart/byteranges, each part equal to the full GET's bytes.
	resp, body := testutil.Get(t, http.DefaultClient, url, "Range", "bytes=0-9,500000-500099,-3")
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("multi-range: status %d", resp.StatusCode)
	}
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/byteranges" {
		t.Fatalf("multi-range: Content-Type %q (%v)", resp.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	wantParts := [][2]int{{0, 9}, {500000, 500099}, {size - 3, size - 1}}
	for i, w := range wantParts {
		part, err := mr.NextPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if ct := part.Header.Get("Content-Type"); ct != "video/mp2t" {
			t.Errorf("part %d: Content-Type %q", i, ct)
		}
		got, _ := io.ReadAll(part)
		if !bytes.Equal(got, full[w[0]:w[1]+1]) {
			t.Errorf("part %d (%d-%d): bytes differ", i, w[0], w[1])
		}
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("more parts than ranges: %v", err)
	}

	if resp, _ := testutil.Get(t, http.DefaultClient, url, "Range", fmt.Sprintf("bytes=%d-", size)); resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("range past the end: status %d, want 416", resp.StatusCode)
	}
	if resp, body := testutil.Get(t, http.DefaultClient, url, "If-None-Match", etag); resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Errorf("If-None-Match: status %d, %d bytes, want 304", resp.StatusCode, len(body))
	}
	if resp, _ := testutil.Get(t, http.DefaultClient, url, "Range", "bytes=0-9", "If-Range", `"stale"`); resp.StatusCode != http.StatusOK {
		t.Errorf("If-Range with a stale ETag: status %d, want 200", resp.StatusCode)
	}
}

func TestNotFound(t *testing.T) {
	lib := video.New(video.Options{})
	srv := newServer(t, lib)
	n := lib.Segments("lesson-1")
	long := strings.Repeat("x", 200)
	for _, path := range []string{
		"/v1/lessons/lesson-1/video/4k/index.m3u8",
		"/v1/lessons/lesson-1/video/4k/0.ts",
		"/v1/lessons/lesson-1/video/480p/-1.ts",
		fmt.Sprintf("/v1/lessons/lesson-1/video/480p/%d.ts", n),
		"/v1/lessons/lesson-1/video/480p/99999999999999999999999.ts",
		"/v1/lessons/lesson-1/video/480p/abc.ts",
		"/v1/lessons/" + long + "/video/master.m3u8",
		"/v1/lessons/" + long + "/video/480p/index.m3u8",
	} {
		resp, body := testutil.Get(t, http.DefaultClient, srv.URL+path)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, resp.StatusCode)
			continue
		}
		var e struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != "not_found" || e.Error.Message == "" {
			t.Errorf("%s: body %q (%v), want a not_found JSON error", path, body, err)
		}
		if resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type %q", path, resp.Header.Get("Content-Type"))
		}
	}
	resp, err := http.Post(srv.URL+"/v1/lessons/lesson-1/video/480p/0.ts", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST segment: status %d, want 405", resp.StatusCode)
	}
}

func TestOptions(t *testing.T) {
	lib := video.New(video.Options{SegmentSeconds: 6, Renditions: []video.Rendition{
		{Name: "low", Width: 320, Height: 180, Bandwidth: 200_000},
		{Name: "low", Bandwidth: 1},     // duplicate: skipped
		{Name: "", Bandwidth: 1000},     // no name: skipped
		{Name: "broken", Bandwidth: -5}, // no bandwidth: skipped
	}})
	if got := lib.Renditions(); len(got) != 1 || got[0].Name != "low" {
		t.Fatalf("renditions %+v", got)
	}
	srv := newServer(t, lib)
	resp, body := testutil.Get(t, http.DefaultClient, srv.URL+"/v1/lessons/l/video/low/0.ts")
	if resp.StatusCode != http.StatusOK || len(body) != 200_000*6/8 {
		t.Errorf("status %d, %d bytes, want %d", resp.StatusCode, len(body), 200_000*6/8)
	}
	_, body = testutil.Get(t, http.DefaultClient, srv.URL+"/v1/lessons/l/video/low/index.m3u8")
	if !bytes.Contains(body, []byte("#EXT-X-TARGETDURATION:6\n")) {
		t.Errorf("media playlist lacks target duration 6:\n%s", body)
	}
}
