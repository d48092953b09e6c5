package video

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/trendtactics/loadlab/reference-app/httperr"
)

// Rendition is one quality level of every lesson video.
type Rendition struct {
	// Name is the path element of the rendition, for example "720p".
	Name string
	// Width and Height are the picture size in pixels, for RESOLUTION.
	Width, Height int
	// Bandwidth is the bit rate in bits per second. It is the BANDWIDTH
	// attribute of the master playlist and sets the size of every segment.
	Bandwidth int
}

// Options configure a Library. The zero value gives 4-second segments and
// the renditions of DefaultRenditions.
type Options struct {
	// SegmentSeconds is the length of every segment but the last; 0 means 4.
	SegmentSeconds int
	// Renditions lists the quality levels in the order the master playlist
	// names them. Entries with an empty or duplicate name or a bandwidth that
	// is not positive are skipped; an empty list means DefaultRenditions.
	Renditions []Rendition
}

// DefaultRenditions returns the renditions used when Options lists none:
// 240p at 400 kbit/s, 480p at 1000 kbit/s, 720p at 2500 kbit/s and 1080p at
// 5000 kbit/s.
func DefaultRenditions() []Rendition {
	return []Rendition{
		{Name: "240p", Width: 426, Height: 240, Bandwidth: 400_000},
		{Name: "480p", Width: 854, Height: 480, Bandwidth: 1_000_000},
		{Name: "720p", Width: 1280, Height: 720, Bandwidth: 2_500_000},
		{Name: "1080p", Width: 1920, Height: 1080, Bandwidth: 5_000_000},
	}
}

// Video lengths lie in [minSeconds, maxSeconds].
const (
	minSeconds = 60
	maxSeconds = 600
	// maxLessonID bounds the lesson ids the library accepts; longer ones are
	// not lesson ids of this academy and get 404.
	maxLessonID = 128
	// packetSize is the MPEG transport stream packet size; every packet
	// starts with syncByte.
	packetSize = 188
	syncByte   = 0x47

	segmentCache  = "public, max-age=31536000, immutable"
	playlistCache = "public, max-age=3600"
	playlistType  = "application/vnd.apple.mpegurl"
)

// Library serves the synthetic videos of every lesson. It holds no per-lesson
// state and is safe for concurrent use.
type Library struct {
	segment    int // seconds
	renditions []Rendition
	byName     map[string]Rendition
}

// New returns a Library configured by opts.
func New(opts Options) *Library {
	l := &Library{segment: opts.SegmentSeconds, byName: map[string]Rendition{}}
	if l.segment <= 0 {
		l.segment = 4
	}
	for _, r := range opts.Renditions {
		if r.Name == "" || r.Bandwidth <= 0 || strings.ContainsAny(r.Name, "/\"\r\n") {
			continue
		}
		if _, dup := l.byName[r.Name]; dup {
			continue
		}
		l.byName[r.Name] = r
		l.renditions = append(l.renditions, r)
	}
	if len(l.renditions) == 0 {
		for _, r := range DefaultRenditions() {
			l.byName[r.Name] = r
			l.renditions = append(l.renditions, r)
		}
	}
	return l
}

// Renditions returns a copy of the renditions the library serves.
func (l *Library) Renditions() []Rendition {
	return append([]Rendition(nil), l.renditions...)
}

// Duration returns the length of the lesson's video, a whole number of
// seconds between 60 and 600 derived from a hash of lessonID.
func (l *Library) Duration(lessonID string) time.Duration {
	return time.Duration(seconds(lessonID)) * time.Second
}

// Segments returns the number of segments of the lesson's video.
func (l *Library) Segments(lessonID string) int {
	return (seconds(lessonID) + l.segment - 1) / l.segment
}

func seconds(lessonID string) int {
	return minSeconds + int(hash64(lessonID)%(maxSeconds-minSeconds+1))
}

// segmentSeconds returns the length of segment n of a video of total seconds.
func (l *Library) segmentSeconds(total, n int) int {
	if rest := total - n*l.segment; rest < l.segment {
		return rest
	}
	return l.segment
}

// ServeMaster writes the master playlist of the lesson's video.
func (l *Library) ServeMaster(w http.ResponseWriter, r *http.Request, lessonID string) {
	if !allowed(w, r) {
		return
	}
	if !validLesson(lessonID) {
		notFound(w, "no such lesson video")
		return
	}
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	for _, rd := range l.renditions {
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,AVERAGE-BANDWIDTH=%d", rd.Bandwidth, rd.Bandwidth)
		if rd.Width > 0 && rd.Height > 0 {
			fmt.Fprintf(&b, ",RESOLUTION=%dx%d", rd.Width, rd.Height)
		}
		fmt.Fprintf(&b, "\n%s/index.m3u8\n", rd.Name)
	}
	servePlaylist(w, r, b.String())
}

// ServeMedia writes the VOD media playlist of one rendition of the lesson's
// video: one #EXTINF per segment, segment URIs 0.ts, 1.ts, ...
func (l *Library) ServeMedia(w http.ResponseWriter, r *http.Request, lessonID, rendition string) {
	if !allowed(w, r) {
		return
	}
	if !validLesson(lessonID) {
		notFound(w, "no such lesson video")
		return
	}
	if _, ok := l.byName[rendition]; !ok {
		notFound(w, fmt.Sprintf("no rendition %q", truncate(rendition)))
		return
	}
	total := seconds(lessonID)
	count := l.Segments(lessonID)
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n", l.segment)
	for n := range count {
		fmt.Fprintf(&b, "#EXTINF:%d.000,\n%d.ts\n", l.segmentSeconds(total, n), n)
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	servePlaylist(w, r, b.String())
}

// ServeSegment writes segment n of one rendition of the lesson's video:
// Bandwidth × segment seconds / 8 deterministic bytes, with Range,
// If-None-Match and If-Range support from http.ServeContent.
func (l *Library) ServeSegment(w http.ResponseWriter, r *http.Request, lessonID, rendition string, n int) {
	if !allowed(w, r) {
		return
	}
	if !validLesson(lessonID) {
		notFound(w, "no such lesson video")
		return
	}
	rd, ok := l.byName[rendition]
	if !ok {
		notFound(w, fmt.Sprintf("no rendition %q", truncate(rendition)))
		return
	}
	if n < 0 || n >= l.Segments(lessonID) {
		notFound(w, fmt.Sprintf("no segment %d in rendition %q", n, rendition))
		return
	}
	secs := l.segmentSeconds(seconds(lessonID), n)
	seg := &segment{
		seed: hash64(lessonID + "\x00" + rendition + "\x00" + strconv.Itoa(n) + "\x00" + strconv.Itoa(rd.Bandwidth)),
		size: int64(rd.Bandwidth) * int64(secs) / 8,
	}
	h := w.Header()
	h.Set("Content-Type", "video/mp2t")
	h.Set("Cache-Control", segmentCache)
	h.Set("ETag", fmt.Sprintf(`"%016x-%x"`, seg.seed, seg.size))
	http.ServeContent(w, r, "", time.Time{}, seg)
}

// segment is an io.ReadSeeker over the synthetic bytes of one segment. Byte
// i is byte i%8 of mix(seed, i/8), except that every 188th byte is the
// transport stream sync byte, so any offset can be produced without
// producing the bytes before it.
type segment struct {
	seed uint64
	size int64
	off  int64
}

var _ io.ReadSeeker = (*segment)(nil)

func (s *segment) Read(p []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	if rest := s.size - s.off; int64(len(p)) > rest {
		p = p[:rest]
	}
	start := s.off
	pos := start
	i := 0
	for ; i < len(p) && pos%8 != 0; i, pos = i+1, pos+1 {
		p[i] = byte(mix(s.seed, uint64(pos/8)) >> (8 * (pos % 8)))
	}
	for ; len(p)-i >= 8; i, pos = i+8, pos+8 {
		binary.LittleEndian.PutUint64(p[i:], mix(s.seed, uint64(pos/8)))
	}
	for ; i < len(p); i, pos = i+1, pos+1 {
		p[i] = byte(mix(s.seed, uint64(pos/8)) >> (8 * (pos % 8)))
	}
	for at := (start + packetSize - 1) / packetSize * packetSize; at < pos; at += packetSize {
		p[at-start] = syncByte
	}
	s.off = pos
	return len(p), nil
}

func (s *segment) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += s.off
	case io.SeekEnd:
		offset += s.size
	default:
		return 0, errors.New("seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("seek: negative position")
	}
	s.off = offset
	return offset, nil
}

// mix is the SplitMix64 output function of seed+i: cheap, stateless and
// well distributed.
func mix(seed, i uint64) uint64 {
	z := seed + (i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func servePlaylist(w http.ResponseWriter, r *http.Request, body string) {
	h := w.Header()
	h.Set("Content-Type", playlistType)
	h.Set("Cache-Control", playlistCache)
	h.Set("ETag", fmt.Sprintf(`"%016x"`, hash64(body)))
	http.ServeContent(w, r, "", time.Time{}, strings.NewReader(body))
}

func validLesson(id string) bool {
	return id != "" && len(id) <= maxLessonID
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func allowed(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use GET or HEAD")
	return false
}

func notFound(w http.ResponseWriter, msg string) {
	writeError(w, http.StatusNotFound, "not_found", msg)
}

// writeError writes the academy's JSON error shape.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	httperr.Write(w, status, code, msg)
}
