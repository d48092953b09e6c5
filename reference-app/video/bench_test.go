package video_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/trendtactics/loadlab/reference-app/video"
)

// discard is a ResponseWriter that keeps nothing.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkSegment measures generating and serving one 1080p segment
// (2.5 MB): throughput in MB/s and allocations per segment.
func BenchmarkSegment(b *testing.B) {
	lib := video.New(video.Options{})
	r := httptest.NewRequest(http.MethodGet, "/v1/lessons/l/video/1080p/0.ts", nil)
	b.SetBytes(5_000_000 * 4 / 8)
	b.ReportAllocs()
	for b.Loop() {
		lib.ServeSegment(&discard{h: http.Header{}}, r, "lesson-1", "1080p", 0)
	}
}
