package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRefusesNegativeSyncInterval: a negative --sync-interval is a
// mistake, not a way to turn syncing off; serve says so before it opens
// the database.
func TestServeRefusesNegativeSyncInterval(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ww.db")
	_, stderr, status := run(t, nil, "serve", "--addr", "127.0.0.1:0", "--db", db, "--sync-interval", "-1s")
	if status == 0 || !strings.Contains(stderr, "--sync-interval") {
		t.Fatalf("serve --sync-interval -1s: status %d, stderr %q; want a failure naming the flag", status, stderr)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("serve created %s before refusing the flag (stat: %v)", db, err)
	}
}

// TestWorkerRefusesNegativeSyncInterval: the worker's --sync-interval is
// checked as serve's is, before the store is opened.
func TestWorkerRefusesNegativeSyncInterval(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ww.db")
	_, stderr, status := run(t, nil, "worker", "--store", db, "--sync-interval", "-1s")
	if status == 0 || !strings.Contains(stderr, "--sync-interval") {
		t.Fatalf("worker --sync-interval -1s: status %d, stderr %q; want a failure naming the flag", status, stderr)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("worker created %s before refusing the flag (stat: %v)", db, err)
	}
}
