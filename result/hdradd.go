package result

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// AddEncoded adds the histogram encoded in enc (as EncodeHistogram writes it) to dst, as
// dst.Merge of the decoded histogram would, without decoding it into a histogram of its
// own: hdrhistogram's Decode allocates and clears the 23,552 buckets of the result
// geometry, and Merge walks them all, for the few hundred an interval record fills. The
// encoded buckets are read from the compressed payload and recorded in dst directly.
// An encoding of another geometry falls back to Decode and Merge. A corrupt encoding is an
// error, and dst is then unchanged. Safe for concurrent use with distinct dst.
func AddEncoded(dst *hdrhistogram.Histogram, enc string) error {
	d := decoders.Get().(*decoder)
	defer decoders.Put(d)
	buckets, ok, err := d.buckets(enc)
	if err != nil {
		return fmt.Errorf("decode histogram: %w", err)
	}
	if !ok || dst.LowestTrackableValue() != HistMin || dst.SignificantFigures() != HistDigits {
		h, err := DecodeHistogram(enc)
		if err != nil {
			return err
		}
		dst.Merge(h)
		return nil
	}
	for _, b := range buckets {
		if err := dst.RecordValues(bucketValue(b.idx), b.count); err != nil {
			return fmt.Errorf("decode histogram: %w", err)
		}
	}
	return nil
}

// bucket is one non-empty bucket of an encoded histogram of the result geometry: its
// index (bucketValue is its lowest value) and count.
type bucket struct{ idx, count int64 }

// decoders are the reusable state of AddEncoded (a pool: no state outlives a call).
var decoders = sync.Pool{New: func() any { return &decoder{} }}

type decoder struct {
	raw     []byte
	zr      io.ReadCloser
	br      bytes.Reader
	payload bytes.Buffer
	out     []bucket
}

// buckets reads the non-empty buckets of enc; ok is false for a valid encoding of
// another geometry than the result's.
func (d *decoder) buckets(enc string) (out []bucket, ok bool, err error) {
	n := base64.StdEncoding.DecodedLen(len(enc))
	if cap(d.raw) < n {
		d.raw = make([]byte, n)
	}
	n, err = base64.StdEncoding.Decode(d.raw[:n], []byte(enc))
	if err != nil {
		return nil, false, err
	}
	raw := d.raw[:n]
	if len(raw) < 8 || binary.BigEndian.Uint32(raw) != v2CompressedCookie {
		return nil, false, errors.New("not a V2 compressed histogram")
	}
	if l := binary.BigEndian.Uint32(raw[4:]); int(l) != len(raw)-8 {
		return nil, false, errors.New("truncated histogram")
	}
	d.br.Reset(raw[8:])
	if d.zr == nil {
		if d.zr, err = zlib.NewReader(&d.br); err != nil {
			return nil, false, err
		}
	} else if err = d.zr.(zlib.Resetter).Reset(&d.br, nil); err != nil {
		return nil, false, err
	}
	d.payload.Reset()
	if _, err = d.payload.ReadFrom(d.zr); err != nil {
		return nil, false, err
	}
	p := d.payload.Bytes()
	if len(p) < v2HeaderSize || binary.BigEndian.Uint32(p) != v2Cookie {
		return nil, false, errors.New("corrupt histogram header")
	}
	if l := binary.BigEndian.Uint32(p[4:]); int(l) != len(p)-v2HeaderSize {
		return nil, false, errors.New("corrupt histogram payload length")
	}
	offset := int32(binary.BigEndian.Uint32(p[8:]))
	digits := int32(binary.BigEndian.Uint32(p[12:]))
	lowest := int64(binary.BigEndian.Uint64(p[16:]))
	highest := int64(binary.BigEndian.Uint64(p[24:]))
	ratio := math.Float64frombits(binary.BigEndian.Uint64(p[32:]))
	if offset != 0 || digits != HistDigits || lowest != HistMin || highest != HistMax || ratio != 1 {
		return nil, false, nil
	}
	out = d.out[:0]
	var idx int64
	for q := p[v2HeaderSize:]; len(q) > 0; {
		u, k := binary.Uvarint(q)
		if k <= 0 {
			return nil, false, errors.New("corrupt histogram counts")
		}
		q = q[k:]
		c := int64(u>>1) ^ -int64(u&1)
		if c < 0 {
			idx -= c // a run of -c empty buckets
			if idx < 0 {
				return nil, false, errors.New("histogram bucket out of range")
			}
			continue
		}
		if c > 0 {
			if idx >= int64(geometryLen) {
				return nil, false, errors.New("histogram bucket out of range")
			}
			out = append(out, bucket{idx: idx, count: c})
		}
		idx++
	}
	d.out = out
	return out, true, nil
}
