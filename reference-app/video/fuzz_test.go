package video_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/trendtactics/loadlab/reference-app/video"
)

// FuzzServe checks that no lesson id, rendition, segment number or Range
// header makes the library answer a 5xx.
func FuzzServe(f *testing.F) {
	lib := video.New(video.Options{})
	f.Add("lesson-1", "240p", 0, "bytes=0-10")
	f.Add("", "1080p", -1, "bytes=-1")
	f.Add("x", "720p", 1<<40, "bytes=5-1,3-")
	f.Add("lesson-9", "480p", 3, "bytes=0-0,0-0,0-0")
	f.Fuzz(func(t *testing.T, lesson, rendition string, n int, rng string) {
		for i, serve := range []func(http.ResponseWriter, *http.Request){
			func(w http.ResponseWriter, r *http.Request) { lib.ServeMaster(w, r, lesson) },
			func(w http.ResponseWriter, r *http.Request) { lib.ServeMedia(w, r, lesson, rendition) },
			func(w http.ResponseWriter, r *http.Request) { lib.ServeSegment(w, r, lesson, rendition, n) },
		} {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Range", rng)
			w := httptest.NewRecorder()
			serve(w, r)
			if w.Code >= 500 {
				t.Fatalf("handler %d (%q, %q, %d, Range %q): status %d", i, lesson, rendition, n, rng, w.Code)
			}
		}
	})
}
