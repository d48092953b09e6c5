package proxy

// KindLimitData is the kind of the LimitData toxic.
const KindLimitData = "limit-data"

var (
	_ Toxic    = (*LimitData)(nil)
	_ Stateful = (*LimitData)(nil)
)

// LimitData lets Bytes bytes of a stream through and then closes the connection.
type LimitData struct {
	Bytes int64
}

// limitDataKind reads the bytes of a spec: zero (close at the first chunk) or more.
func limitDataKind() toxicKind {
	return toxicKind{name: KindLimitData, params: []string{"bytes"},
		build: func(s ToxicSpec) (Toxic, error) {
			return &LimitData{Bytes: s.Bytes}, negative("bytes", s.Bytes)
		}}
}

type limitState struct {
	passed int64
}

// NewState implements Stateful.
func (t *LimitData) NewState() any { return &limitState{} }

// Pipe implements Toxic.
func (t *LimitData) Pipe(s *Stream, data []byte) error {
	st := s.State().(*limitState)
	left := t.Bytes - st.passed
	if int64(len(data)) < left {
		st.passed += int64(len(data))
		return s.Write(data)
	}
	if left > 0 {
		st.passed += left
		if err := s.Write(data[:left]); err != nil {
			return err
		}
	}
	return s.Close()
}
