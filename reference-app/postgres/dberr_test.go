package postgres

import (
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// A database that dies mid-query must read as unavailable (503, retry), not as an internal
// error (500): found when the lab killed PostgreSQL under load and clients saw 500s.
func TestDBErrDeadConnectionIsUnavailable(t *testing.T) {
	for _, err := range []error{
		io.ErrUnexpectedEOF,
		fmt.Errorf("read user: %w", io.ErrUnexpectedEOF),
		syscall.ECONNRESET,
		syscall.ECONNREFUSED,
	} {
		var ae *academy.Error
		if got := dbErr("read user", err); !errors.As(got, &ae) || ae.Kind != academy.KindUnavailable {
			t.Errorf("dbErr(%v) = %v, want a KindUnavailable academy.Error", err, got)
		}
	}
	if got := dbErr("x", errors.New("syntax error")); errors.As(got, new(*academy.Error)) {
		t.Errorf("an ordinary error became %v, want an internal error", got)
	}
}
