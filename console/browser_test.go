package console_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wildwarden/wildwarden"
)

// screenshotDir receives the screenshots the README shows.
const screenshotDir = "../docs/screenshots"

// findChromium returns the path of a Chromium or Chrome binary, or "".
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestBrowserReview drives the console in headless Chromium as a reviewer
// would: sign in, claim an item, see the highlighted evidence, remove it
// with the keyboard shortcut, and see the dashboard count the removal. It
// saves screenshots of the queue, the item and the dashboard (and the
// item on a 390 px phone screen) under docs/screenshots/.
func TestBrowserReview(t *testing.T) {
	chromium := findChromium()
	if chromium == "" {
		if os.Getenv("WW_REQUIRE_ALL") == "1" {
			t.Fatal("chromium is not installed and WW_REQUIRE_ALL=1 (apt-get install chromium)")
		}
		t.Skip("chromium is not installed (apt-get install chromium); skipping the browser test")
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	h := newHarness(t, "shop-a")
	h.user("shop-a", "alice", wildwarden.RoleReviewer)
	h.user("shop-a", "bob", wildwarden.RoleReviewer)
	seedHistory(t, h)

	// The whole session has a deadline too; each step has its own below.
	sessionCtx, cancelSession := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancelSession()
	alloc, cancelAlloc := chromedp.NewExecAllocator(sessionCtx,
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	browserCtx, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()

	// step runs actions under their own timeout, so a hung browser fails
	// the test with the step's name instead of hanging it.
	step := func(name string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(browserCtx, timeout)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("browser step %q: %v", name, err)
		}
	}
	text := func(name, sel string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(browserCtx, 10*time.Second)
		defer cancel()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("browser step %q: %v", name, err)
		}
		return strings.TrimSpace(s)
	}
	location := func() string {
		t.Helper()
		ctx, cancel := context.WithTimeout(browserCtx, 5*time.Second)
		defer cancel()
		u, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatalf("browser step location: %v", err)
		}
		return u
	}
	screenshot := func(name string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(browserCtx, 20*time.Second)
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(screenshotDir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The first Run starts the browser and ties it to browserCtx (a step's
	// own timeout context would close the browser when the step ends), so
	// start-up runs under a watchdog instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(browserCtx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start chromium: %v", err)
		}
	case <-time.After(60 * time.Second):
		cancelBrowser()
		t.Fatal("chromium did not start within 60s")
	}
	step("start and open the sign-in page", 60*time.Second, chromedp.Navigate(h.srv.URL+"/login?tenant=shop-a&next=/queue"), chromedp.WaitVisible(chromedp.ID("#password")))
	step("sign in", 15*time.Second,
		chromedp.SendKeys(chromedp.ID("#user"), "alice"),
		chromedp.SendKeys(chromedp.ID("#password"), testPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"].primary`)),
		chromedp.WaitVisible(chromedp.ID("#queue")))
	screenshot("queue.png")

	step("open the dashboard", 15*time.Second, chromedp.Navigate(h.srv.URL+"/dashboard"), chromedp.WaitVisible(chromedp.ID("#removed-total")))
	before, err := strconv.Atoi(text("read the removed count", "#removed-total"))
	if err != nil {
		t.Fatalf("removed count before: %v", err)
	}

	step("claim the next item with the keyboard", 15*time.Second,
		chromedp.Navigate(h.srv.URL+"/queue"), chromedp.WaitVisible(chromedp.ID("#queue")),
		chromedp.KeyEvent("c"),
		chromedp.WaitVisible(chromedp.ID("#title")))
	if !strings.Contains(location(), "/items/") {
		t.Fatalf("after claiming, the browser is at %s, want an item page", location())
	}
	evidence := text("read the highlighted evidence", "#title mark")
	if !strings.Contains(strings.ToLower(evidence), "ivory") && !strings.Contains(evidence, "象牙") {
		t.Fatalf("highlighted evidence in the title = %q, want the ivory term", evidence)
	}
	if lease := text("read the lease countdown", ".lease .countdown"); !strings.HasSuffix(lease, "left") {
		t.Fatalf("lease countdown = %q, want the time left", lease)
	}
	step("help overlay opens with ? and closes with Escape", 10*time.Second,
		chromedp.KeyEvent("?"), chromedp.WaitVisible(chromedp.ID("#help")),
		chromedp.KeyEvent("\x1b"), chromedp.WaitNotVisible(chromedp.ID("#help")))
	screenshot("item.png")

	step("remove with the r shortcut", 15*time.Second,
		chromedp.KeyEvent("r"),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if flash := text("read the confirmation", ".flash"); !strings.HasPrefix(flash, "Removed") {
		t.Fatalf("after r the page says %q, want Removed …", flash)
	}

	step("open the dashboard again", 15*time.Second, chromedp.Navigate(h.srv.URL+"/dashboard"), chromedp.WaitVisible(chromedp.CSS("#chart-target svg")))
	after, err := strconv.Atoi(text("read the removed count again", "#removed-total"))
	if err != nil {
		t.Fatalf("removed count after: %v", err)
	}
	if after != before+1 {
		t.Fatalf("dashboard removed count %d → %d, want one more", before, after)
	}
	screenshot("dashboard.png")

	// The same pages on a phone screen.
	step("phone viewport", 15*time.Second,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(h.srv.URL+"/queue"), chromedp.WaitVisible(chromedp.ID("#queue")),
		chromedp.KeyEvent("c"), chromedp.WaitVisible(chromedp.ID("#title")))
	screenshot("item-phone.png")
}

// seedHistory fills four weeks of activity so the dashboard has something
// to draw: screenings that fall over time (towards the reduction target),
// reviewer decisions, reports, search warnings and a random-sample audit.
func seedHistory(t *testing.T, h *harness) {
	t.Helper()
	ctx := wildwarden.WithActor(context.Background(), "seed")
	tenant := h.tenants["shop-a"]
	img := testImage(t)
	blocked := []string{"ivory bangle, DM me", "pangolin scales for sale", "tiger bone wine", "象牙手镯 私聊"}
	allowed := []string{"Ceramic teapot, hand painted", "Tiger Balm ointment 30g", "Ivory white lace dress", "Shark cordless vacuum"}
	var bob string
	users, _ := h.store.Users(ctx, tenant)
	for _, u := range users {
		if u.Name == "bob" {
			bob = u.ID
		}
	}
	const days = 28
	for day := days - 1; day >= 1; day-- {
		h.at(time.Duration(day)*24*time.Hour+2*time.Hour, func() {
			var ls []wildwarden.Listing
			nBlocked := 1 + day/5 // violating listings fall over the weeks
			for i := 0; i < nBlocked; i++ {
				ls = append(ls, wildwarden.Listing{ID: fmt.Sprintf("B-%d-%d", day, i), Lang: "en", Title: blocked[(day+i)%len(blocked)], Seller: wildwarden.Seller{ID: fmt.Sprintf("S-%d", i)}})
			}
			for i := 0; i < 6; i++ {
				ls = append(ls, wildwarden.Listing{ID: fmt.Sprintf("A-%d-%d", day, i), Lang: "en", Title: allowed[(day+i)%len(allowed)], Seller: wildwarden.Seller{ID: "S-9"}})
			}
			if day%3 == 0 {
				ls = append(ls, wildwarden.Listing{ID: fmt.Sprintf("R-%d", day), Lang: "en", Title: "rhino horn cup antique", Seller: wildwarden.Seller{ID: "S-1"}})
			}
			h.screen("shop-a", ls...)
			for i := 0; i < 3+day%4; i++ {
				typ := wildwarden.SearchImpression
				if i == 0 {
					typ = wildwarden.SearchClick
				}
				if err := h.store.AddSearchEvent(ctx, &wildwarden.SearchEvent{TenantID: tenant, Type: typ, Lang: "en", Category: "ivory"}); err != nil {
					t.Fatal(err)
				}
			}
			if day%4 == 1 {
				r := &wildwarden.Report{TenantID: tenant, ListingID: fmt.Sprintf("A-%d-0", day), Reason: "ivory", Weight: 1}
				if err := h.store.AddReport(ctx, r, &wildwarden.QueueItem{Reports: 1, ReportWeight: 1}); err != nil {
					t.Fatal(err)
				}
			}
		})
		// Bob works the queue empty later that day.
		h.at(time.Duration(day)*24*time.Hour+2*time.Hour-time.Duration(20+day%5*25)*time.Minute, func() {
			clearQueue(t, h, tenant, bob, func(item *wildwarden.QueueItem, n int) string {
				if item.Kind == wildwarden.ItemVerdict && n%3 != 2 {
					return wildwarden.ActionRemove
				}
				return wildwarden.ActionAllow
			})
		})
	}
	// A random-sample audit decided a few days ago: 1 of 8 was violating.
	h.at(3*24*time.Hour, func() {
		ids, err := h.store.SampleAllowed(ctx, tenant, 8)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if err := h.store.Enqueue(ctx, &wildwarden.QueueItem{TenantID: tenant, ListingID: id, Kind: wildwarden.ItemAudit}); err != nil {
				t.Fatal(err)
			}
		}
		clearQueue(t, h, tenant, bob, func(item *wildwarden.QueueItem, n int) string {
			if n == 0 {
				return wildwarden.ActionRemove
			}
			return wildwarden.ActionAllow
		})
	})
	// Today: the items waiting for review, one with an image and reports.
	today := []wildwarden.Listing{
		reviewListing("L-1", "S-1"),
		{ID: "L-2", Lang: "en", Title: "rhino horn cup antique", Description: "Carved cup, from an old collection. Serious buyers only.", Seller: wildwarden.Seller{ID: "S-1"}},
		{ID: "L-3", Lang: "en", Title: "mammoth ivory pendant for sale", Description: "Certificate included.", Seller: wildwarden.Seller{ID: "S-4"}},
		{ID: "L-4", Lang: "zh", Title: "犀角杯 老货", Description: "私聊价格", Seller: wildwarden.Seller{ID: "S-5"}},
	}
	today[0].Images = []string{img}
	h.screen("shop-a", today...)
	for _, reason := range []string{"ivory", "looks like real ivory"} {
		r := &wildwarden.Report{TenantID: tenant, ListingID: "L-1", Reason: reason, ReporterID: "user-" + reason[:2], Weight: 1}
		if err := h.store.AddReport(ctx, r, &wildwarden.QueueItem{Reports: 1, ReportWeight: 1}); err != nil {
			t.Fatal(err)
		}
	}
}

// clearQueue has a reviewer claim and decide every open item, the action
// chosen by decide from the item and its rank in the run.
func clearQueue(t *testing.T, h *harness, tenant, reviewer string, decide func(item *wildwarden.QueueItem, n int) string) {
	t.Helper()
	ctx := wildwarden.WithActor(context.Background(), "seed")
	for n := 0; ; n++ {
		item, err := h.store.Claim(ctx, tenant, reviewer, time.Hour)
		if wildwarden.ErrorCode(err) == wildwarden.ENOTFOUND {
			return
		}
		if err != nil {
			t.Fatalf("seed claim: %v", err)
		}
		d := &wildwarden.ReviewDecision{TenantID: tenant, ItemID: item.ID, ReviewerID: reviewer, Action: decide(item, n), Reasons: []string{"seed"}}
		if err := h.store.Decide(ctx, d, nil); err != nil {
			t.Fatalf("seed decide: %v", err)
		}
	}
}

// testImage returns a small generated picture as a data URL (no file or
// network is needed).
func testImage(t *testing.T) string {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for y := 0; y < 120; y++ {
		for x := 0; x < 160; x++ {
			m.Set(x, y, color.RGBA{R: uint8(200 - y), G: uint8(120 + x/4), B: uint8(60 + (x+y)/3), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}
