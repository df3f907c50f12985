// Package pgtest starts a private PostgreSQL cluster from the Debian
// binaries (initdb, pg_ctl) on a loopback port, for tests and benchmarks.
// The cluster lives in a temporary directory and is thrown away on Stop;
// it runs without fsync because its data is disposable.
//
// PostgreSQL refuses to run as root, so when the process is root the
// cluster's directory is given to the "postgres" user and the binaries run
// through runuser.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// RequireAllEnv names the environment variable that turns a missing
// PostgreSQL into a test failure instead of a skip (CI sets it).
const RequireAllEnv = "WW_REQUIRE_ALL"

// BinDir returns the directory holding initdb and pg_ctl: $WW_PG_BIN when
// set, else the newest /usr/lib/postgresql/*/bin, else the directory of
// initdb on PATH.
func BinDir() (string, error) {
	if dir := os.Getenv("WW_PG_BIN"); dir != "" {
		return dir, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("pgtest: PostgreSQL binaries not found (apt-get install postgresql, or set WW_PG_BIN)")
}

// versionOf reads the major version from /usr/lib/postgresql/<v>/bin.
func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// Cluster is a running private PostgreSQL server.
type Cluster struct {
	dir    string // owns data/ and the socket
	binDir string
	port   int
	asUser string // run binaries as this user ("" = the current one)
	log    string
}

// Start creates and starts a cluster in a new temporary directory.
func Start(ctx context.Context) (*Cluster, error) {
	binDir, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "wwpg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: temp dir: %w", err)
	}
	c := &Cluster{dir: dir, binDir: binDir, log: filepath.Join(dir, "server.log")}
	if os.Geteuid() == 0 {
		c.asUser = "postgres"
		if err := chownTo(dir, c.asUser); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if c.port, err = freePort(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run(ctx, "initdb", "-D", data, "-A", "trust", "-U", "ww", "-E", "UTF8", "--no-sync", "--locale=C"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %w: %s", err, out)
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=64MB", c.port, dir)
	if out, err := c.run(ctx, "pg_ctl", "-D", data, "-l", c.log, "-o", opts, "-w", "-t", "60", "start"); err != nil {
		logText, _ := os.ReadFile(c.log)
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: pg_ctl start: %w: %s %s", err, out, logText)
	}
	return c, nil
}

// chownTo gives dir to the named user so PostgreSQL may run in it.
func chownTo(dir, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("pgtest: running as root needs the %q user (installed with the postgresql package): %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("pgtest: chown %s: %w", dir, err)
	}
	return nil
}

// run runs a PostgreSQL binary, as c.asUser when set.
func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	bin := filepath.Join(c.binDir, name)
	var cmd *exec.Cmd
	if c.asUser != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.asUser, "--", bin}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, bin, args...)
	}
	cmd.Dir = c.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// freePort asks the kernel for a free loopback TCP port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// DSN returns the connection string of a database in the cluster.
func (c *Cluster) DSN(database string) string {
	return fmt.Sprintf("postgres://ww@127.0.0.1:%d/%s?sslmode=disable", c.port, database)
}

// CreateDatabase creates an empty database with a random name and returns
// its DSN.
func (c *Cluster) CreateDatabase(ctx context.Context) (string, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "ww_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return "", fmt.Errorf("pgtest: connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("pgtest: create database: %w", err)
	}
	return c.DSN(name), nil
}

// CPUSeconds returns the CPU time the server has used: the postmaster's
// and that of its ended children (a backend's time is added when its
// connection closes). Linux only; used by benchmarks.
func (c *Cluster) CPUSeconds() (float64, error) {
	pidFile, err := os.ReadFile(filepath.Join(c.dir, "data", "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("pgtest: %w", err)
	}
	pid, _, _ := bytes.Cut(pidFile, []byte("\n"))
	stat, err := os.ReadFile(filepath.Join("/proc", string(bytes.TrimSpace(pid)), "stat"))
	if err != nil {
		return 0, fmt.Errorf("pgtest: %w", err)
	}
	// Fields after the command name: utime, stime, cutime, cstime are
	// fields 14 to 17 of the whole line.
	_, rest, _ := bytes.Cut(stat, []byte(") "))
	fields := bytes.Fields(rest)
	if len(fields) < 15 {
		return 0, fmt.Errorf("pgtest: unexpected /proc stat %q", stat)
	}
	var ticks float64
	for _, f := range fields[11:15] {
		n, _ := strconv.ParseFloat(string(f), 64)
		ticks += n
	}
	return ticks / 100, nil // USER_HZ is 100 on Linux
}

// Stop shuts the server down at once and removes its files.
func (c *Cluster) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := c.run(ctx, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	if rmErr := os.RemoveAll(c.dir); rmErr != nil && err == nil {
		err = rmErr
	}
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %w: %s", err, out)
	}
	return nil
}

var (
	shared     *Cluster
	sharedErr  error
	sharedOnce sync.Once
)

// Main runs a package's tests and stops the shared cluster afterwards, if
// one was started. Use it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	return code
}

// Database returns the DSN of a fresh database in a cluster shared by the
// test binary (started on first use). Without PostgreSQL the test is
// skipped, or fails when WW_REQUIRE_ALL=1.
func Database(t testing.TB) string {
	t.Helper()
	sharedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		shared, sharedErr = Start(ctx)
	})
	if sharedErr != nil {
		if os.Getenv(RequireAllEnv) == "1" {
			t.Fatalf("PostgreSQL is required (%s=1): %v", RequireAllEnv, sharedErr)
		}
		t.Skipf("skipping: no PostgreSQL to test against: %v", sharedErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn, err := shared.CreateDatabase(ctx)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}
