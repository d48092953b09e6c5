package manifests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The image cannot be built here (no container runtime). What can be checked is: the
// Dockerfile is multi-stage and ends as a non-root user, its build command builds the two
// programs as static binaries, and it copies them to the paths the manifests run.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var from, copies []string
	var build, user string
	for _, line := range strings.Split(string(b), "\n") {
		instr, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch instr {
		case "FROM":
			from = append(from, rest)
		case "COPY":
			if strings.HasPrefix(rest, "--from=") {
				copies = append(copies, rest)
			}
		case "RUN":
			if strings.Contains(rest, "go build") {
				build = rest
			}
		case "USER":
			user = rest
		}
	}
	if len(from) < 2 {
		t.Errorf("FROM %v: want a build stage and a runtime stage", from)
	}
	if uid, _, _ := strings.Cut(user, ":"); uid != strconv.Itoa(ImageUser) {
		t.Errorf("USER %q: want %d, the user the manifests run as", user, ImageUser)
	}
	m := regexp.MustCompile(`^CGO_ENABLED=0 GOOS=linux go build (.*) -o (/\S+)/ ((?:\./cmd/[\w-]+ ?)+)$`).FindStringSubmatch(build)
	if m == nil {
		t.Fatalf("RUN %q: want CGO_ENABLED=0 GOOS=linux go build FLAGS -o DIR/ ./cmd/...", build)
	}
	outDir, pkgs := m[2], strings.Fields(m[3])
	// Each binary built is copied to where the manifests run it; loadgen-kube beside
	// loadgen, where loadgen looks for it first.
	want := map[string]string{"loadgen": LoadgenPath, "academy": AcademyPath, "loadgen-kube": filepath.Join(filepath.Dir(LoadgenPath), "loadgen-kube")}
	for _, pkg := range pkgs {
		name := filepath.Base(pkg)
		copy := "--from=build " + outDir + "/" + name + " " + want[name]
		if want[name] == "" || !slices.Contains(copies, copy) {
			t.Errorf("%s: no COPY %s among %q", pkg, copy, copies)
		}
		delete(want, name)
	}
	if len(want) > 0 {
		t.Errorf("the image does not build %v", want)
	}

	// With cgo off, as the Dockerfile builds them, the programs' packages and every package
	// they import resolve without error and without a cgo file: the binaries are static (the
	// Go linker alone links them). Building them here would compile everything again for that
	// configuration (minutes on CI's 2 cores); the image build does it.
	cmd := exec.Command("go", append([]string{"list", "-e", "-deps", "-f", "{{.ImportPath}} {{.Name}} {{len .CgoFiles}} {{if .Error}}{{.Error}}{{end}}"}, pkgs...)...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	mains := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, " ", 4)
		if len(f) < 3 || f[2] != "0" || len(f) == 4 && f[3] != "" {
			t.Errorf("with CGO_ENABLED=0: %s", line)
		}
		if len(f) >= 2 && f[1] == "main" {
			mains++
		}
	}
	if mains != len(pkgs) {
		t.Errorf("%d main packages among the dependencies of %v, want %d", mains, pkgs, len(pkgs))
	}
}
