// Package shareddata finds the project's shared test data (the ../shared
// folder beside the repository) for the project's tests.
//
// The data is optional: tests skip with a clear message when it is absent,
// and fail instead when WW_REQUIRE_ALL=1 asks for every optional check.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// RequireAll reports whether WW_REQUIRE_ALL=1 is set: optional tools and
// data must then be present, and tests fail instead of skipping.
func RequireAll() bool { return os.Getenv("WW_REQUIRE_ALL") == "1" }

// SkipOrFail skips t with the reason, or fails it when RequireAll is set.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if RequireAll() {
		t.Fatalf("WW_REQUIRE_ALL=1 but "+format, args...)
	}
	t.Skipf(format, args...)
}

// Find walks up from the working directory looking for shared/<rel> and
// returns its path, or "" when no parent has it.
func Find(rel string) string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		candidate := filepath.Join(dir, "shared", rel)
		if info, err := os.Stat(candidate); err == nil && info.IsDir() {
			return candidate
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Dir returns the path of shared/<rel>, or skips t (fails under
// WW_REQUIRE_ALL=1) when it cannot be found.
func Dir(t testing.TB, rel string) string {
	t.Helper()
	dir := Find(rel)
	if dir == "" {
		SkipOrFail(t, "shared test data shared/%s not found in any parent of the working directory", rel)
	}
	return dir
}
