package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/image/imagetest"
	wwnats "github.com/wildwarden/wildwarden/nats"
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
	workerLogs := startWorker(t, "--store", db, "--nats", stream.url, "--tenant", "shop-stream",
		"--sync-interval", syncInterval.String(), "--ocr=false", "--stats-every", "0")
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
	if logs := workerLogs.String(); !strings.Contains(logs, "knowledge-base additions picked up") {
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
	if logs := workerLogs.String(); !strings.Contains(logs, "image-bank changes picked up") {
		t.Errorf("the worker's log does not say it picked up the bank changes:\n%s", logs)
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
	url      string
	js       jetstream.JetStream
	verdicts jetstream.Consumer
	sent     int
}

func startStream(t *testing.T) *stream {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server did not start")
	}
	t.Cleanup(ns.Shutdown)
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
	return &stream{url: ns.ClientURL(), js: js, verdicts: verdicts}
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

// startWorker runs `wildwarden worker` until the test ends, and returns
// its log once it consumes.
func startWorker(t *testing.T, args ...string) *syncBuffer {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"worker"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	logs := &syncBuffer{}
	consuming := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(logs, sc.Text())
			if strings.Contains(sc.Text(), "worker: consuming") {
				close(consuming)
			}
		}
	}()
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case <-consuming:
	case <-exited:
		t.Fatalf("worker exited: %v\n%s", waitErr, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("worker did not start\n%s", logs.String())
	}
	return logs
}
