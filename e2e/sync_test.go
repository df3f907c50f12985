package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/image/imagetest"
)

// syncInterval is the replicas' --sync-interval in these tests: short, so
// that a change arrives quickly; the waits have a deadline far beyond it.
const syncInterval = 200 * time.Millisecond

// TestReplicasFollowEachOther runs two services on one store, as replicas
// behind a load balancer (or serve beside the CLI on one SQLite file): a
// code word an admin adds in one replica's console reaches the other's
// screening, and image-bank changes made with the CLI reach both, without
// a restart; on each store.
func TestReplicasFollowEachOther(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { replicasFollowEachOther(t, b.db(t)) })
	}
}

func replicasFollowEachOther(t *testing.T, db string) {
	const password = "correct horse battery"
	cli(t, "admin", "tenant", "create", "--db", db, "shop-sync")
	platform := cli(t, "admin", "key", "create", "--db", db, "--tenant", "shop-sync", "--role", "platform")
	admin := cliWithInput(t, password+"\n", "admin", "reviewer", "create", "--db", db, "--tenant", "shop-sync", "--admin", "--password", "carol")
	flags := []string{"--sync-interval", syncInterval.String(), "--ocr=false"}
	one, two := serve(t, db, flags...), serve(t, db, flags...)

	// The code word is unknown to both at first.
	screened := 0
	screenCodeWord := func(s *service) bool {
		screened++
		l := wildwarden.Listing{ID: fmt.Sprintf("SYNC-%d", screened), Lang: "en", Title: "zorbleflax bangle for sale, DM me"}
		var v wildwarden.Verdict
		s.must(200, "POST", "/v1/screen", platform, l, &v)
		for _, sig := range v.Signals {
			if sig.Term == "zorbleflax" {
				return true
			}
		}
		return false
	}
	if screenCodeWord(two) {
		t.Fatal("engine: the made-up code word matched before it was added")
	}

	// An admin adds it in the first replica's console: it applies there at
	// once, and on the second within a few intervals.
	addCodeWord(t, one, "shop-sync", "carol", password, url.Values{
		"kind": {"term"}, "text": {"zorbleflax"}, "lang": {"en"}, "category": {"ivory"}, "note": {"seen in a seized shop"}})
	if !screenCodeWord(one) {
		t.Fatal("the replica whose console took the code word does not screen with it")
	}
	waitFor(t, "the other replica screens with the added code word", func() bool { return screenCodeWord(two) })
	if logs := two.logs.String(); !strings.Contains(logs, "knowledge-base additions picked up") {
		t.Errorf("the other replica's log does not say it picked up the addition:\n%s", logs)
	}

	// Bank changes made with the CLI reach both replicas.
	photo := imagetest.Photo(t, 7, 640, 480, 90)
	photoFile := filepath.Join(t.TempDir(), "seized.jpg")
	if err := os.WriteFile(photoFile, photo, 0o600); err != nil {
		t.Fatal(err)
	}
	matchesEntry := func(s *service) bool {
		var out struct {
			Outcome struct {
				Matches []struct{ Entry struct{ ID string } }
			}
		}
		s.must(200, "POST", "/v1/images/match", admin, map[string]string{"image": "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(photo)}, &out)
		return len(out.Outcome.Matches) == 1 && out.Outcome.Matches[0].Entry.ID == "E-1"
	}
	hasBank := func(s *service) bool {
		var out struct{ Banks []struct{ Name string } }
		s.must(200, "GET", "/v1/banks", admin, nil, &out)
		return len(out.Banks) > 0
	}
	bank := func(args ...string) {
		t.Helper()
		cli(t, append([]string{"bank", "--db", db, "--tenant", "shop-sync"}, args...)...)
	}
	bank("create", "confirmed")
	bank("add", "confirmed", "--id", "E-1", "--category", "ivory", photoFile)
	for name, s := range map[string]*service{"first": one, "second": two} {
		waitFor(t, "the "+name+" replica matches the photo the CLI banked", func() bool { return matchesEntry(s) })
	}
	bank("remove", "confirmed", "E-1")
	for name, s := range map[string]*service{"first": one, "second": two} {
		waitFor(t, "the "+name+" replica stops matching the photo the CLI removed", func() bool { return !matchesEntry(s) })
	}
	bank("delete", "confirmed")
	for name, s := range map[string]*service{"first": one, "second": two} {
		waitFor(t, "the "+name+" replica drops the bank the CLI deleted", func() bool { return !hasBank(s) })
	}
	if logs := two.logs.String(); !strings.Contains(logs, "image-bank changes picked up") {
		t.Errorf("the replica's log does not say it picked up the bank changes:\n%s", logs)
	}
	resp, err := http.Get(two.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`wildwarden_sync_applied_total{what="bank_change"}`, `wildwarden_sync_applied_total{what="engine_rebuild"} 1`} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, time.Since(start).Round(time.Millisecond))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%s: after %v (--sync-interval %v)", what, time.Since(start).Round(time.Millisecond), syncInterval)
}

// cliWithInput runs a wildwarden command with standard input and returns
// its standard output, trimmed.
func cliWithInput(t *testing.T, input string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(input)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("wildwarden %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// addCodeWord signs in to a replica's console as an admin and adds to the
// knowledge base with the page's form.
func addCodeWord(t *testing.T, s *service, tenant, user, password string, form url.Values) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := func(method, path string, form url.Values) (int, string) {
		t.Helper()
		var resp *http.Response
		var err error
		if method == "GET" {
			resp, err = browser.Get(s.url + path)
		} else {
			resp, err = browser.PostForm(s.url+path, form)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	token := func(body string) string {
		t.Helper()
		m := csrfField.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no CSRF token in the page:\n%s", body)
		}
		return m[1]
	}
	_, login := page("GET", "/login", nil)
	if status, body := page("POST", "/login", url.Values{"csrf": {token(login)}, "tenant": {tenant}, "user": {user}, "password": {password}}); status != http.StatusSeeOther {
		t.Fatalf("console sign-in: %d\n%s", status, body)
	}
	_, kb := page("GET", "/kb", nil)
	form.Set("csrf", token(kb))
	if status, body := page("POST", "/kb", form); status != http.StatusSeeOther {
		t.Fatalf("console knowledge-base addition: %d\n%s", status, body)
	}
}

// TestReplicaSkipsAdditionItsKBRefuses runs a replica whose --kb has a
// category the default knowledge base lacks, and one on the default: a
// code word in that category, added in the first's console, is skipped by
// the second, which still starts, logs and counts it once and applies the
// additions after it; on each store.
func TestReplicaSkipsAdditionItsKBRefuses(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { replicaSkipsAdditionItsKBRefuses(t, b.db(t)) })
	}
}

func replicaSkipsAdditionItsKBRefuses(t *testing.T, db string) {
	const password = "correct horse battery"
	cli(t, "admin", "tenant", "create", "--db", db, "shop-kb")
	platform := cli(t, "admin", "key", "create", "--db", db, "--tenant", "shop-kb", "--role", "platform")
	cliWithInput(t, password+"\n", "admin", "reviewer", "create", "--db", db, "--tenant", "shop-kb", "--admin", "--password", "carol")
	flags := []string{"--sync-interval", syncInterval.String(), "--ocr=false"}
	wider := serve(t, db, append(flags, "--kb", kbWithCategory(t, "unicorn-horn"))...)
	addCodeWord(t, wider, "shop-kb", "carol", password, url.Values{
		"kind": {"term"}, "text": {"quibbleplunk"}, "lang": {"en"}, "category": {"unicorn-horn"}, "note": {"seen in a test"}})

	plain := serve(t, db, flags...)
	addCodeWord(t, wider, "shop-kb", "carol", password, url.Values{
		"kind": {"term"}, "text": {"zorbleflax"}, "lang": {"en"}, "category": {"ivory"}, "note": {"seen in a seized shop"}})
	screened := 0
	waitFor(t, "the replica on the default knowledge base screens with the addition after the one it refuses", func() bool {
		screened++
		var v wildwarden.Verdict
		plain.must(200, "POST", "/v1/screen", platform, wildwarden.Listing{ID: fmt.Sprintf("KB-%d", screened), Lang: "en", Title: "zorbleflax bangle for sale, DM me"}, &v)
		return hasSignal(&v, "", "zorbleflax")
	})
	time.Sleep(3 * syncInterval) // more polls: the skip is still reported once
	logs := plain.logs.String()
	if n := strings.Count(logs, "knowledge-base addition skipped"); n != 1 || !strings.Contains(logs, "unicorn-horn") {
		t.Errorf("the replica logs the skipped addition %d times, want once with the category:\n%s", n, logs)
	}
	resp, err := http.Get(plain.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `wildwarden_sync_skipped_total{what="kb_addition"} 1`; !bytes.Contains(metrics, []byte(want)) {
		t.Errorf("/metrics lacks %s", want)
	}
}

// kbWithCategory copies the knowledge base with one more category.
func kbWithCategory(t *testing.T, category string) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob(filepath.Join("..", "kb", "data", "*.tsv"))
	if err != nil || len(files) == 0 {
		t.Fatalf("knowledge-base files: %v (%d)", err, len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(f) == "categories.tsv" {
			data = append(data, category+"\t"+category+"\tadded by a test\n"...)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
