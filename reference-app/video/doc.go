// Package video serves the academy's lesson videos as HTTP Live Streaming (HLS)
// video on demand: a master playlist that lists every rendition, one media
// playlist per rendition and MPEG-TS segments.
//
// Nothing is stored. A lesson's video length (60 to 600 seconds) and every
// segment's bytes are derived from a hash of the lesson id, so the same request
// always returns the same bytes, on every replica, without disk or database.
// Segment bytes are generated on the fly by a counter-based generator that can
// start at any offset, so Range requests (single and multi-range) cost no more
// than the bytes they ask for and no segment is ever held in memory whole.
//
// Endpoints, as the academy mounts them (lessonID is the lesson's id):
//
//	GET /v1/lessons/{lesson}/video/master.m3u8           Library.ServeMaster
//	GET /v1/lessons/{lesson}/video/{rendition}/index.m3u8 Library.ServeMedia
//	GET /v1/lessons/{lesson}/video/{rendition}/{n}.ts     Library.ServeSegment
//
// The master playlist (application/vnd.apple.mpegurl) has one
// #EXT-X-STREAM-INF per rendition with BANDWIDTH and RESOLUTION and the
// relative URI {rendition}/index.m3u8. A media playlist is a VOD playlist
// (#EXT-X-PLAYLIST-TYPE:VOD, #EXT-X-ENDLIST) whose segments are 0.ts .. N-1.ts,
// each SegmentSeconds long except a shorter last one. A segment (video/mp2t)
// is bitrate × duration / 8 bytes, with 0x47 at the start of every 188-byte
// transport packet. Every response carries an ETag and answers
// If-None-Match with 304; segments carry Cache-Control
// "public, max-age=31536000, immutable", playlists "public, max-age=3600".
//
// Unknown renditions, segment numbers out of range and empty or over-long
// lesson ids get 404 with {"error":{"code":"not_found","message":"..."}};
// methods other than GET and HEAD get 405. Bad input never yields a 5xx.
// A Library is safe for concurrent use.
package video
