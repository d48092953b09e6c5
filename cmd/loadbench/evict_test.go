package main

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resident returns how many of path's pages are in the page cache.
func resident(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal(e)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// TestEvictCacheDropsTheBinary: a file just written is in the page cache; after evictCache
// none of it is, so the next run maps its binary from the disk's state, as after any other
// build.
func TestEvictCacheDropsTheBinary(t *testing.T) {
	dir := t.TempDir()
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Type == unix.TMPFS_MAGIC {
		t.Skip("the temporary directory is on tmpfs, whose pages are the files themselves")
	}
	path := filepath.Join(dir, "tool")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o755); err != nil {
		t.Fatal(err)
	}
	// Dirty pages are written back before they can be dropped: as a build's are by the time
	// its binary runs.
	if f, err := os.Open(path); err == nil {
		f.Sync()
		f.Close()
	}
	if n := resident(t, path); n == 0 {
		t.Fatal("a file just written has no page in the page cache: nothing to test")
	}
	if err := evictCache(path); err != nil {
		t.Fatal(err)
	}
	if n := resident(t, path); n != 0 {
		t.Errorf("%d pages of the binary are still in the page cache after evictCache", n)
	}
	if err := evictCache(filepath.Join(dir, "missing")); err == nil {
		t.Error("evictCache of a missing binary returned no error")
	}
}
