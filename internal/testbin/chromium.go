package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Chromium finds a headless-capable Chromium (Debian's chromium first).
// Without one it skips, unless SYNCD_REQUIRE_TOOLS=1 (CI), where that is
// a failure.
func Chromium(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("SYNCD_REQUIRE_TOOLS") == "1" {
		tb.Fatal("chromium not found and SYNCD_REQUIRE_TOOLS=1")
	}
	tb.Skip("chromium not found: install Debian's chromium to render the status page")
	return ""
}

// Render loads url in headless Chromium, as a person's browser would with
// no network beyond it, and returns the rendered DOM. It also takes a
// screenshot named name under SYNCD_SCREENSHOT_DIR (a temp dir when
// unset), fails on a page that renders empty, and returns its path. Each
// call starts from a new profile.
func Render(tb testing.TB, bin, url, name string) (dom, screenshot string) {
	tb.Helper()
	dir := tb.TempDir()
	screenshot = filepath.Join(dir, name)
	if d := os.Getenv("SYNCD_SCREENSHOT_DIR"); d != "" {
		screenshot = filepath.Join(d, name)
	}
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(dir, "profile")}
	ctx := tb.Context()
	out, err := exec.CommandContext(ctx, bin, append(args, "--dump-dom", url)...).Output()
	if err != nil {
		tb.Fatalf("chromium --dump-dom %s: %v", url, err)
	}
	if msg, err := exec.CommandContext(ctx, bin, append(args, "--window-size=1200,900", "--screenshot="+screenshot, url)...).CombinedOutput(); err != nil {
		tb.Fatalf("chromium --screenshot %s: %v\n%s", url, err, msg)
	}
	// A blank page compresses to a few hundred bytes; text and tables
	// take tens of kilobytes.
	if fi, err := os.Stat(screenshot); err != nil || fi.Size() < 10_000 {
		tb.Fatalf("screenshot %s: %v (%d bytes): the page rendered empty", screenshot, err, sizeOf(fi))
	}
	return string(out), screenshot
}

func sizeOf(fi os.FileInfo) int64 {
	if fi == nil {
		return 0
	}
	return fi.Size()
}
