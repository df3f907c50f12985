package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/image/imagetest"
	wwnats "github.com/wildwarden/wildwarden/nats"
	"github.com/wildwarden/wildwarden/nats/natstest"
	"github.com/wildwarden/wildwarden/postgres/pgtest"
)

// TestWorkerFollowsReplicas runs `wildwarden worker` beside a serve
// replica on one PostgreSQL database, as docs/DEPLOY.md lays them out: a
// code word an admin added in the console before the worker started is in
// its first verdicts; one added later, and image-bank changes made with
// the CLI, reach its screening within its --sync-interval, without a
// restart.
func TestWorkerFollowsReplicas(t *testing.T) {
	const password = "correct horse battery"
	db := pgtest.Database(t)
	cli(t, "admin", "tenant", "create", "--db", db, "shop-stream")
	cliWithInput(t, password+"\n", "admin", "reviewer", "create", "--db", db, "--tenant", "shop-stream", "--admin", "--password", "carol")
	replica := serve(t, db, "--sync-interval", syncInterval.String(), "--ocr=false")
	addCodeWord(t, replica, "shop-stream", "carol", password, url.Values{
		"kind": {"term"}, "text": {"zorbleflax"}, "lang": {"en"}, "category": {"ivory"}, "note": {"seen in a seized shop"}})

	stream := startStream(t)
	worker := startWorker(t, "--store", db, "--nats", stream.url, "--tenant", "shop-stream",
		"--sync-interval", syncInterval.String(), "--ocr=false", "--stats-every", "0", "--metrics-addr", "127.0.0.1:0")
	codeWord := func(word string) bool {
		v := stream.screen(t, wildwarden.Listing{Lang: "en", Title: word + " bangle for sale, DM me"})
		return hasSignal(v, "", word)
	}
	if !codeWord("zorbleflax") {
		t.Fatal("the worker does not screen with the code word added before it started")
	}
	if codeWord("quibbleworth") {
		t.Fatal("engine: the second made-up code word matched before it was added")
	}
	addCodeWord(t, replica, "shop-stream", "carol", password, url.Values{
		"kind": {"term"}, "text": {"quibbleworth"}, "lang": {"en"}, "category": {"ivory"}, "note": {"seen in a seized shop"}})
	waitFor(t, "the worker screens with the code word added while it runs", func() bool { return codeWord("quibbleworth") })
	if logs := worker.logs.String(); !strings.Contains(logs, "knowledge-base additions picked up") {
		t.Errorf("the worker's log does not say it picked up the addition:\n%s", logs)
	}

	// Bank changes made with the CLI: a listing's photo matches an entry
	// once it is banked, and no longer once it is removed.
	photo := imagetest.Photo(t, 7, 640, 480, 90)
	photoFile := filepath.Join(t.TempDir(), "seized.jpg")
	if err := os.WriteFile(photoFile, photo, 0o600); err != nil {
		t.Fatal(err)
	}
	photoURI := "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(photo)
	matchesBank := func() bool {
		v := stream.screen(t, wildwarden.Listing{Title: "old bracelet", Images: []string{photoURI}})
		return hasSignal(v, "image.bank_match", "E-1")
	}
	if matchesBank() {
		t.Fatal("the photo matched before it was banked")
	}
	bank := func(args ...string) {
		t.Helper()
		cli(t, append([]string{"bank", "--db", db, "--tenant", "shop-stream"}, args...)...)
	}
	bank("create", "confirmed")
	bank("add", "confirmed", "--id", "E-1", "--category", "ivory", photoFile)
	waitFor(t, "the worker matches the photo the CLI banked", matchesBank)
	bank("remove", "confirmed", "E-1")
	waitFor(t, "the worker stops matching the photo the CLI removed", func() bool { return !matchesBank() })
	if logs := worker.logs.String(); !strings.Contains(logs, "image-bank changes picked up") {
		t.Errorf("the worker's log does not say it picked up the bank changes:\n%s", logs)
	}
	// The worker counts what it picked up as a replica does, under the
	// same names: the addition made while it ran, the bank, its entry
	// and the entry's removal.
	metrics := scrape(t, worker.metricsURL(t))
	for series, want := range map[string]float64{
		`wildwarden_sync_applied_total{what="engine_rebuild"}`: 1,
		`wildwarden_sync_applied_total{what="bank_change"}`:    3,
	} {
		if got, ok := metrics[series]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
}

// hasSignal reports whether a verdict holds a signal with the term, and
// the name when name is not empty.
func hasSignal(v *wildwarden.Verdict, name, term string) bool {
	for _, s := range v.Signals {
		if s.Term == term && (name == "" || s.Name == name) {
			return true
		}
	}
	return false
}

// stream is an in-process NATS server with JetStream, the streams made,
// and a reader of the verdict stream.
type stream struct {
	server   *natsserver.Server
	url      string
	js       jetstream.JetStream
	verdicts jetstream.Consumer
	sent     int
}

func startStream(t *testing.T) *stream {
	t.Helper()
	ns := natstest.Start(t)
	nc, js, err := wwnats.Connect(ns.ClientURL(), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx := context.Background()
	if err := wwnats.EnsureStreams(ctx, js, wwnats.Topology{}); err != nil {
		t.Fatal(err)
	}
	verdicts, err := js.OrderedConsumer(ctx, "WILDWARDEN_VERDICTS", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return &stream{server: ns, url: ns.ClientURL(), js: js, verdicts: verdicts}
}

// screen publishes a listing, under an ID of its own, for the worker's
// default tenant and returns the verdict the worker publishes.
func (s *stream) screen(t *testing.T, l wildwarden.Listing) *wildwarden.Verdict {
	t.Helper()
	s.sent++
	l.ID = fmt.Sprintf("STREAM-%d", s.sent)
	data, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := &wwnats.Publisher{JS: s.js}
	if err := p.Publish(ctx, data); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := s.verdicts.Next(jetstream.FetchMaxWait(20 * time.Second))
		if err != nil {
			t.Fatalf("verdict of %s: %v", l.ID, err)
		}
		var v wwnats.Verdict
		if err := json.Unmarshal(m.Data(), &v); err != nil {
			t.Fatalf("verdict message %s: %v", m.Data(), err)
		}
		if v.ListingID == l.ID {
			return v.Verdict
		}
	}
}

// workerProcess is a running `wildwarden worker`.
type workerProcess struct {
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan struct{}
	err    error // how it exited, once exited is closed
}

// stop sends SIGTERM and returns how the worker exited; it kills a
// worker still running after 30s.
func (w *workerProcess) stop() error {
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.exited:
	case <-time.After(30 * time.Second):
		w.cmd.Process.Kill()
		<-w.exited
		return errors.New("did not exit within 30s of SIGTERM")
	}
	return w.err
}

// startWorker runs `wildwarden worker` until the test ends, and returns
// it once it consumes.
func startWorker(t *testing.T, args ...string) *workerProcess {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"worker"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	w := &workerProcess{cmd: cmd, logs: &syncBuffer{}, exited: make(chan struct{})}
	consuming := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(w.logs, sc.Text())
			if strings.Contains(sc.Text(), "worker: consuming") {
				close(consuming)
			}
		}
	}()
	go func() { w.err = cmd.Wait(); close(w.exited) }()
	t.Cleanup(func() { _ = w.stop() })
	select {
	case <-consuming:
	case <-w.exited:
		t.Fatalf("worker exited: %v\n%s", w.err, w.logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("worker did not start\n%s", w.logs.String())
	}
	return w
}

var metricsURLRE = regexp.MustCompile(`"worker: serving metrics" url=(http://127\.0\.0\.1:\d+)/metrics`)

// metricsURL returns the address the worker serves its metrics and probes
// on (--metrics-addr 127.0.0.1:0), read from its log.
func (w *workerProcess) metricsURL(t *testing.T) string {
	t.Helper()
	m := metricsURLRE.FindStringSubmatch(w.logs.String())
	if m == nil {
		t.Fatalf("the worker's log does not say where it serves its metrics:\n%s", w.logs.String())
	}
	return m[1]
}

// scrape reads a process's /metrics: each series (name and labels, as
// written) and its value.
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", resp.StatusCode, body)
	}
	series := map[string]float64{}
	for line := range strings.Lines(string(body)) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("/metrics: %q: %v", line, err)
		}
		series[name] = v
	}
	return series
}

// TestWorkerMetrics runs `wildwarden worker --metrics-addr` on a stream
// and a PostgreSQL database, screens a few listings, one of them twice
// and one that is not a listing, and reads the counts at /metrics: the
// verdicts by decision as they were published, the duplicate, the dead
// letter by cause, the batches and screenings, the sync counters and the
// Go runtime's and the process's series. /readyz follows the NATS
// connection, and SIGTERM stops the worker and its metrics listener.
func TestWorkerMetrics(t *testing.T) {
	db := pgtest.Database(t)
	cli(t, "admin", "tenant", "create", "--db", db, "shop-metrics")
	stream := startStream(t)
	worker := startWorker(t, "--store", db, "--nats", stream.url, "--tenant", "shop-metrics", "--images=false",
		"--sync-interval", syncInterval.String(), "--stats-every", "0", "--metrics-addr", "127.0.0.1:0")
	base := worker.metricsURL(t)
	probe := func(path string) (int, string) {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, body := probe(path); status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, status, body)
		}
	}

	titles := []string{
		"Carved ivory bangle, old stock, DM for price",
		"象牙白连衣裙 夏季新款",
		"Tiger Balm ointment 30g",
		"老白塑料手镯 包浆自然 加V看实物",
	}
	decisions := map[wildwarden.Decision]float64{}
	for _, title := range titles {
		decisions[stream.screen(t, wildwarden.Listing{Title: title}).Decision]++
	}
	// The first listing again, without the message ID that lets the
	// stream drop a repeat (as after its de-duplication window), and a
	// message that is not a listing.
	ctx := context.Background()
	for _, data := range []string{fmt.Sprintf(`{"id": "STREAM-1", "title": %q}`, titles[0]), `{"id": "L-bad", "title": `} {
		if _, err := stream.js.Publish(ctx, "wildwarden.listings", []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	var metrics map[string]float64
	waitFor(t, "the worker counts the repeat and the dead letter", func() bool {
		metrics = scrape(t, base)
		return metrics["wildwarden_screen_duplicates_total"] == 1 && metrics[`wildwarden_worker_dead_letters_total{cause="invalid"}`] == 1
	})
	want := map[string]float64{
		`wildwarden_verdicts_total{decision="allow"}`:                  decisions[wildwarden.Allow],
		`wildwarden_verdicts_total{decision="review"}`:                 decisions[wildwarden.Review],
		`wildwarden_verdicts_total{decision="block"}`:                  decisions[wildwarden.Block],
		`wildwarden_worker_dead_letters_total{cause="unknown_tenant"}`: 0,
		"wildwarden_worker_redeliveries_total":                         0,
		"wildwarden_worker_store_errors_total":                         0,
		"wildwarden_worker_messages_in_flight":                         0,
		// Every message in one batch, each listing and the repeat
		// screened (text alone is screened again, faster than a lookup).
		"wildwarden_worker_batch_size_sum":                float64(len(titles) + 2),
		"wildwarden_worker_screen_duration_seconds_count": float64(len(titles) + 1),
		"wildwarden_sync_failures_total":                  0,
	}
	for series, v := range want {
		if got, ok := metrics[series]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, v)
		}
	}
	for _, series := range []string{"wildwarden_worker_batch_duration_seconds_count", "go_goroutines", "process_cpu_seconds_total"} {
		if metrics[series] == 0 {
			t.Errorf("/metrics lacks %s, or it is 0", series)
		}
	}

	stream.server.Shutdown()
	waitFor(t, "the worker is not ready without NATS", func() bool {
		status, body := probe("/readyz")
		return status == http.StatusServiceUnavailable && strings.Contains(body, "nats")
	})
	if err := worker.stop(); err != nil {
		t.Fatalf("worker after SIGTERM: %v\n%s", err, worker.logs.String())
	}
	if resp, err := client.Get(base + "/metrics"); err == nil {
		resp.Body.Close()
		t.Errorf("the worker's metrics listener still answers after it stopped: %s", resp.Status)
	}
}
