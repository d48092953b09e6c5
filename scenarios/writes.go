package scenarios

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// WriteKinds lists the values of a request's write: marker. A request marked
// `write: enrollment` is recorded by the engine (idempotency key, user, URL, outcome) and
// checked after the run by the enrollments-durable verification.
func WriteKinds() []string { return []string{"enrollment"} }

// IdempotencyHeader is the header that carries a write's idempotency key.
const IdempotencyHeader = "Idempotency-Key"

// write parses a request's write: marker. A write must be sent with a body-changing method
// and carry an Idempotency-Key header: the key is how the checker tells writes apart.
func (l *loader) write(n *yaml.Node, path string, r *Request) string {
	v, ok := l.str(n, path)
	if !ok {
		return ""
	}
	if !contains(WriteKinds(), v) {
		l.errorf(n, path, "unknown write kind %q, want one of %s%s", v, strings.Join(WriteKinds(), ", "), didYouMean(v, WriteKinds()))
		return ""
	}
	switch r.Method {
	case "POST", "PUT", "PATCH":
	default:
		l.errorf(n, path, "a write is sent with POST, PUT or PATCH, not %s", r.Method)
	}
	has := false
	for k := range r.Headers {
		if strings.EqualFold(k, IdempotencyHeader) {
			has = true
		}
	}
	if !has {
		l.errorf(n, path, "a write needs an %s header (for example %s: \"{{ uuid }}\"): the verification tells writes apart by it", IdempotencyHeader, IdempotencyHeader)
	}
	return v
}

// ReadKinds lists the values of a request's read: marker. A request marked
// `read: enrollment` (GET /v1/courses/{course}/enrollment with its author's token) is
// recorded by the engine (user, URL, status, when it was sent) and checked after the run by
// the reads-see-own-writes verification against the author's acknowledged enrollments.
func ReadKinds() []string { return []string{"enrollment"} }

// read parses a request's read: marker: a read-back is a GET, and not also a write.
func (l *loader) read(n *yaml.Node, path string, r *Request, isWrite bool) string {
	v, ok := l.str(n, path)
	if !ok {
		return ""
	}
	if !contains(ReadKinds(), v) {
		l.errorf(n, path, "unknown read kind %q, want one of %s%s", v, strings.Join(ReadKinds(), ", "), didYouMean(v, ReadKinds()))
		return ""
	}
	switch {
	case isWrite:
		l.errorf(n, path, "a request is a write or a read-back, not both")
	case r.Method != "GET":
		l.errorf(n, path, "a read-back is sent with GET, not %s", r.Method)
	}
	return v
}
