// Package web serves the TrendTactics Academy's landing page and its static
// assets, embedded in the binary with go:embed:
//
//	GET /                 the landing page (HTML), Cache-Control: no-cache, with an ETag
//	GET /static/{name}    app.css, app.js, logo.svg, hero.png,
//	                      Cache-Control: public, max-age=31536000, immutable
//
// The page links its assets as /static/{name}?v={content hash}, so a new
// build changes the URLs and long immutable caching never serves a stale
// asset; the HTML itself is revalidated on every visit (a 304 when its ETag
// still matches). Every response has a strong ETag and answers
// If-None-Match, If-Range and Range through http.ServeContent. Text assets
// (HTML, CSS, JS, SVG) are gzip-compressed once at start-up and sent
// compressed to clients that accept gzip (Vary: Accept-Encoding).
//
// The page's script fetches GET /v1/courses?limit=6 to list courses, so a
// scripted page load exercises the API as a browser does.
//
// Any other path, including an unknown /static/ name, is 404 with the
// academy's JSON error {"error":{"code":"not_found","message":"..."}}; methods
// other than GET and HEAD are 405.
//
// assets/static/hero.png is generated deterministically by gen_hero.go
// (go generate ./reference-app/web).
package web
