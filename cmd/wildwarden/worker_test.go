package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWorkerRefusesBadMetricsAddr: a --metrics-addr the worker cannot
// listen on fails the start at once, naming the flag and the reason,
// before the store is opened.
func TestWorkerRefusesBadMetricsAddr(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, c := range []struct {
		name, addr, reason string
	}{
		{"no port", "127.0.0.1", "missing port in address"},
		{"not a port", "127.0.0.1:metrics", "unknown port"},
		{"in use", busy.Addr().String(), "address already in use"},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "ww.db")
			_, stderr, status := run(t, nil, "worker", "--store", db, "--nats", "nats://127.0.0.1:1", "--metrics-addr", c.addr)
			if status == 0 || !strings.Contains(stderr, "--metrics-addr") || !strings.Contains(stderr, c.reason) {
				t.Fatalf("worker --metrics-addr %s: status %d, stderr %q; want a failure naming the flag and %q", c.addr, status, stderr, c.reason)
			}
			if _, err := os.Stat(db); !os.IsNotExist(err) {
				t.Errorf("worker created %s before refusing the flag (stat: %v)", db, err)
			}
		})
	}
}
