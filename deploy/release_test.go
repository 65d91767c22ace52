package deploy

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// checkStatic fails unless the ELF binary has no interpreter and no
// shared-library dependency: `ldd` would say "not a dynamic executable".
func checkStatic(t *testing.T, name string, r io.ReaderAt) {
	t.Helper()
	f, err := elf.NewFile(r)
	if err != nil {
		t.Fatalf("%s: not an ELF binary: %v", name, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatalf("%s has a PT_INTERP program header: it is dynamically linked", name)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("%s needs shared libraries %v", name, libs)
	}
}

// make release builds both archives and SHA256SUMS from a clean checkout;
// the binaries are static and carry the version given.
func TestMakeRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two release binaries: skipped with -short")
	}
	tool(t, "make")
	tool(t, "tar")
	tool(t, "sha256sum")
	dist := t.TempDir()
	cmd := exec.Command("make", "-C", "..", "release", "VERSION=v9.8.7-test", "COMMIT=0123abc", "DATE=2026-01-02T03:04:05Z", "DIST="+dist)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(sums)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			t.Fatalf("SHA256SUMS line %q", sc.Text())
		}
		listed[f[1]] = f[0]
	}
	for _, arch := range []string{"amd64", "arm64"} {
		name := "syncd_v9.8.7-test_linux_" + arch + ".tar.gz"
		t.Run(arch, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dist, name))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(raw)
			if listed[name] != hex.EncodeToString(sum[:]) {
				t.Fatalf("SHA256SUMS has %q for %s, the file hashes to %x", listed[name], name, sum)
			}
			files := untar(t, filepath.Join(dist, name), filepath.Join(t.TempDir()))
			for _, want := range []string{"syncd", "README.md", "syncd.example.yaml", "syncd.service", "syncd-backfill@.service"} {
				if _, ok := files[want]; !ok {
					t.Fatalf("%s lacks %s: %v", name, want, files)
				}
			}
			bin := files["syncd"]
			f, err := os.Open(bin)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			checkStatic(t, name+"/syncd", f)
			wantMachine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
			if ef, _ := elf.NewFile(f); ef.Machine != wantMachine {
				t.Fatalf("%s/syncd is for %s, want %s", name, ef.Machine, wantMachine)
			}
			if arch == runtime.GOARCH {
				out, err := exec.Command(bin, "--version").CombinedOutput()
				if err != nil || !strings.Contains(string(out), "syncd v9.8.7-test (commit 0123abc, built 2026-01-02T03:04:05Z") {
					t.Fatalf("syncd --version: %v %s", err, out)
				}
			}
		})
	}
}

func untar(t *testing.T, archive, dir string) map[string]string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		p := filepath.Join(dir, filepath.Base(h.Name))
		out, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, os.FileMode(h.Mode)&0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, tr); err != nil {
			t.Fatal(err)
		}
		out.Close()
		files[filepath.Base(h.Name)] = p
	}
}

// The image definition: multi-stage, a static build, a distroless nonroot
// base pinned by tag. (This machine has no Docker engine to build it.)
func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms []string
	for _, l := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "FROM" {
			froms = append(froms, l)
		}
	}
	if len(froms) != 2 {
		t.Fatalf("want a two-stage build, got %q", froms)
	}
	final := strings.Fields(froms[len(froms)-1])[1]
	if final != "gcr.io/distroless/static-debian12:nonroot" {
		t.Fatalf("final stage %q is not the pinned distroless static nonroot image", final)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-X main.Version=$VERSION", "-X main.Commit=$COMMIT", "-X main.Date=$DATE", "USER nonroot:nonroot", `ENTRYPOINT ["/usr/local/bin/syncd"]`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	for _, from := range froms {
		image := ""
		for _, f := range strings.Fields(from)[1:] {
			if !strings.HasPrefix(f, "--") {
				image = f
				break
			}
		}
		if !strings.Contains(image, ":") || strings.HasSuffix(image, ":latest") {
			t.Errorf("%s: pin the image by a tag, not :latest or none", from)
		}
	}
}
