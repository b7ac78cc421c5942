package e2e_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium starts a headless Debian Chromium for one test (the package
// chromium, Taskfile.yml APT_PACKAGES); a missing browser fails the test.
func chromium(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not installed (go tool task install-test-deps): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() }) // stops the browser and waits for it
	return ctx
}

// artefact saves b under the test's temp dir and, when RCC_ARTEFACTS is
// set, copies it there too.
func artefact(t *testing.T, name string, b []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("artefact %s (%d bytes)", p, len(b))
	if dir := os.Getenv("RCC_ARTEFACTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOperatorPageInBrowser: the operator page, opened in headless
// Chromium and signed in with a token, shows a call placed over REST (a
// real phone rings) and drops the row when the call is cleared.
func TestOperatorPageInBrowser(t *testing.T) {
	s := startSiteWith(t, siteOptions{features: "I3_FEATURE_LYNC", api: true})
	a := s.phone("1010", "auto")
	b := s.phone("1020", "manual")
	ctx := chromium(t)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	if err := chromedp.Do(ctx,
		chromedp.Navigate("http://"+s.api+"/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), e2eAllToken),
		// A click, as a person would: form.submit() would skip the page's handler.
		chromedp.Click(chromedp.CSS(`#login button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#status.live")),
		// Stations come from GET /v1/stations: both phones registered.
		chromedp.WaitVisible(chromedp.CSS(`#stations tr[data-ext="1020"] td.yes`)),
	); err != nil {
		t.Fatalf("sign in on the page: %v", err)
	}

	code, body := s.apiCall("POST", "/v1/calls", e2eAllToken, `{"from":"1010","to":"1020"}`)
	if code != 201 {
		t.Fatalf("POST /v1/calls: %d %v", code, body)
	}
	id, _ := body["call_id"].(string)
	b.WaitEvent("CALL_INCOMING")
	row := `#calls tr[data-call-id="` + id + `"][data-station="1020"].alerting`
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(row))); err != nil {
		t.Fatalf("call row for %s did not appear: %v", id, err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	artefact(t, "operator-page.png", shot)

	if code, body := s.apiCall("DELETE", "/v1/calls/"+id+"?station=1010", e2eAllToken, ""); code != 204 {
		t.Fatalf("DELETE: %d %v", code, body)
	}
	b.WaitEvent("CALL_CLOSED")
	a.WaitEvent("CALL_CLOSED")
	if err := chromedp.Do(ctx, chromedp.WaitNotPresent(chromedp.CSS(`#calls tr[data-call-id="`+id+`"]`))); err != nil {
		t.Fatalf("call row stayed after the call was cleared: %v", err)
	}
	if after, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		artefact(t, "operator-page-after.png", after)
	}
}
