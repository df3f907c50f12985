// Command stream measures stream screening throughput: it starts a NATS
// server with JetStream (in process) and a private PostgreSQL cluster,
// fills the listing stream, then runs 1, 2, … `wildwarden worker`
// processes on it and times how fast the verdicts are stored. Each run
// gets a fresh stream and a fresh database. bench/stream.sh drives it.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wildwarden/wildwarden"
	wwnats "github.com/wildwarden/wildwarden/nats"
	"github.com/wildwarden/wildwarden/postgres"
	"github.com/wildwarden/wildwarden/postgres/pgtest"
)

func main() {
	bin := flag.String("wildwarden", "", "path of the wildwarden binary (required)")
	corpus := flag.String("corpus", "testdata/corpus/corpus.jsonl", "listings (JSON Lines), cycled with fresh IDs to reach -n")
	n := flag.Int("n", 20000, "listings per run")
	workerCounts := flag.String("workers", "1,2", "worker counts to run, comma-separated")
	procs := flag.Int("procs", 1, "GOMAXPROCS of each worker process")
	batch := flag.Int("batch", wwnats.DefaultBatch, "worker --batch")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of this process (the NATS server, the publisher's checks) to this file")
	extra := flag.String("worker-args", "", "more arguments for each worker, space-separated, {i} replaced by the worker's number (such as --concurrency 4)")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "stream: -wildwarden is required")
		os.Exit(2)
	}
	lines, err := listingLines(*corpus, *n)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stream:", err)
		os.Exit(1)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "stream:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "stream:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	cluster, err := pgtest.Start(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stream:", err)
		os.Exit(1)
	}
	defer cluster.Stop()
	fmt.Printf("%-8s %-9s %-8s %-11s %-13s %-15s %-11s %-42s %-40s %s\n", "workers", "listings", "seconds", "listings/s", "worker CPU s", "postgres CPU s", "nats CPU s", "µs CPU per listing: worker+postgres+nats", "whole run: seconds, machine busy CPU s", "bytes per listing: database, verdict message")
	for _, field := range strings.Split(*workerCounts, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || k < 1 {
			fmt.Fprintf(os.Stderr, "stream: bad worker count %q\n", field)
			os.Exit(2)
		}
		r, err := runOnce(ctx, cluster, *bin, lines, k, *procs, *batch, strings.Fields(*extra))
		if err != nil {
			fmt.Fprintln(os.Stderr, "stream:", err)
			os.Exit(1)
		}
		per := func(cpu float64) float64 { return cpu / float64(len(lines)) * 1e6 }
		fmt.Printf("%-8d %-9d %-8.2f %-11.0f %-13.2f %-15.2f %-11.2f %-42s %-40s %s\n", k, r.counted, r.seconds, float64(r.counted)/r.seconds,
			r.cpuSeconds, r.pgSeconds, r.natsSeconds, fmt.Sprintf("%.0f+%.0f+%.0f", per(r.cpuSeconds), per(r.pgSeconds), per(r.natsSeconds)),
			fmt.Sprintf("%.2f, %.2f", r.wall, r.machineBusy), fmt.Sprintf("%d, %d", r.dbBytes/int64(len(lines)), r.verdictBytes))
	}
}

// listingLines reads the corpus and cycles it to n listings with unique
// IDs.
func listingLines(path string, n int) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	var base []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("corpus %s: %w", path, err)
		}
		base = append(base, m)
	}
	if len(base) == 0 {
		return nil, fmt.Errorf("corpus %s is empty", path)
	}
	out := make([][]byte, n)
	for i := range out {
		m := base[i%len(base)]
		m["id"] = fmt.Sprintf("B-%07d", i)
		out[i], _ = json.Marshal(m)
	}
	return out, nil
}

type result struct {
	counted      int     // verdicts inside the timed window
	seconds      float64 // length of the window
	cpuSeconds   float64 // CPU the workers used over the whole run
	pgSeconds    float64 // CPU PostgreSQL used while the workers ran
	natsSeconds  float64 // CPU this process (the NATS server) used while the workers ran
	wall         float64 // from starting the workers to the last verdict and their exit
	machineBusy  float64 // CPU seconds the whole machine was busy meanwhile (all processes)
	dbBytes      int64   // size of the database after the run
	verdictBytes int64   // mean stored size of a verdict message
}

// runOnce fills a fresh stream, starts k workers and times the stored
// verdicts from the first 5% to the last, so that start-up (building the
// screening engine) is not counted.
func runOnce(ctx context.Context, cluster *pgtest.Cluster, bin string, lines [][]byte, k, procs, batch int, extra []string) (*result, error) {
	dir, err := os.MkdirTemp("", "wwstream-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		return nil, fmt.Errorf("nats server did not start")
	}
	defer ns.Shutdown()
	dsn, err := cluster.CreateDatabase(ctx)
	if err != nil {
		return nil, err
	}
	store, err := postgres.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	if err := store.CreateTenant(ctx, &wildwarden.Tenant{Name: "default"}); err != nil {
		return nil, err
	}
	nc, js, err := wwnats.Connect(ns.ClientURL(), "bench")
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	// Fill the stream with the CLI, as an operator would.
	input := filepath.Join(dir, "listings.jsonl")
	if err := os.WriteFile(input, append(bytes.Join(lines, []byte("\n")), '\n'), 0o644); err != nil {
		return nil, err
	}
	if out, err := exec.Command(bin, "publish", "--nats", ns.ClientURL(), input).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("wildwarden publish: %w: %s", err, out)
	}
	if n, err := pendingListings(ctx, js); err != nil || n != len(lines) {
		return nil, fmt.Errorf("the listing stream holds %d listings after publishing %d (%v)", n, len(lines), err)
	}

	pg0, err := cluster.CPUSeconds()
	if err != nil {
		return nil, err
	}
	self0 := selfCPU()
	machine0 := machineBusy()
	started := time.Now()
	var cmds []*exec.Cmd
	for i := 0; i < k; i++ {
		args := append([]string{"worker", "--nats", ns.ClientURL(), "--store", dsn, "--batch", strconv.Itoa(batch), "--stats-every", "0"}, extra...)
		for j := range args {
			args[j] = strings.ReplaceAll(args[j], "{i}", strconv.Itoa(i))
		}
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(procs))
		logFile, err := os.Create(filepath.Join(dir, fmt.Sprintf("worker-%d.log", i)))
		if err != nil {
			return nil, err
		}
		defer logFile.Close()
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start worker: %w", err)
		}
		cmds = append(cmds, cmd)
	}
	stopAll := func() float64 {
		var cpu float64
		for _, c := range cmds {
			_ = c.Process.Signal(syscall.SIGTERM)
			_ = c.Wait()
			if c.ProcessState != nil {
				cpu += (c.ProcessState.UserTime() + c.ProcessState.SystemTime()).Seconds()
			}
		}
		return cpu
	}
	total := len(lines)
	startAt := total / 20
	var t0 time.Time
	var n0 int
	deadline := time.Now().Add(30 * time.Minute)
	for {
		n, err := verdicts(ctx, js)
		if err != nil {
			stopAll()
			return nil, err
		}
		if t0.IsZero() && n >= startAt {
			t0, n0 = time.Now(), n
		}
		if n >= total {
			r := &result{counted: n - n0, seconds: time.Since(t0).Seconds()}
			r.cpuSeconds = stopAll()
			r.natsSeconds = selfCPU() - self0
			r.machineBusy = machineBusy() - machine0
			r.wall = time.Since(started).Seconds()
			time.Sleep(200 * time.Millisecond) // the backends of the workers end
			pg1, err := cluster.CPUSeconds()
			if err != nil {
				return nil, err
			}
			r.pgSeconds = pg1 - pg0
			if r.dbBytes, err = databaseBytes(ctx, dsn); err != nil {
				return nil, err
			}
			if r.verdictBytes, err = verdictMessageBytes(ctx, js); err != nil {
				return nil, err
			}
			return r, nil
		}
		if time.Now().After(deadline) {
			stopAll()
			return nil, fmt.Errorf("%d workers stored %d of %d verdicts in 30 minutes (logs in %s)", k, n, total, dir)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// machineBusy returns the CPU seconds all processes of the machine used
// since boot (from /proc/stat), to show how loaded the machine was.
func machineBusy() float64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal
	var busy float64
	for i, f := range fields[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i > 7 { // guest time is already in user
			break
		}
		n, _ := strconv.ParseFloat(f, 64)
		busy += n
	}
	return busy / 100
}

// pendingListings counts the listings in the work-queue stream.
func pendingListings(ctx context.Context, js jetstream.JetStream) (int, error) {
	s, err := js.Stream(ctx, "WILDWARDEN_LISTINGS")
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return int(info.State.Msgs), nil
}

// verdictMessageBytes returns the mean stored size of a verdict message.
func verdictMessageBytes(ctx context.Context, js jetstream.JetStream) (int64, error) {
	s, err := js.Stream(ctx, "WILDWARDEN_VERDICTS")
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil || info.State.Msgs == 0 {
		return 0, err
	}
	return int64(info.State.Bytes / info.State.Msgs), nil
}

// databaseBytes returns the size of the database, tables and indexes.
func databaseBytes(ctx context.Context, dsn string) (int64, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		return 0, fmt.Errorf("checkpoint: %w", err)
	}
	err = conn.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
	return n, err
}

// selfCPU returns the CPU time this process used so far.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// verdicts counts the verdicts published so far.
func verdicts(ctx context.Context, js jetstream.JetStream) (int, error) {
	s, err := js.Stream(ctx, "WILDWARDEN_VERDICTS")
	if err != nil {
		return 0, fmt.Errorf("verdict stream: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("verdict stream: %w", err)
	}
	return int(info.State.Msgs), nil
}
