package testutil

import (
	"io"
	"net/http"
	"testing"
)

// Get sends GET url through client with the given header name, value pairs and returns the
// response and its whole body (read and closed).
func Get(t testing.TB, client *http.Client, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	if len(header)%2 != 0 {
		t.Fatalf("header %q: want name, value pairs", header)
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
