package ocr

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wildwarden/wildwarden/image/imagetest"

	"github.com/wildwarden/wildwarden/internal/shareddata"
)

// renderListingPhoto draws lines of text like the caption a trader puts on
// a product photo.
func renderListingPhoto(t *testing.T, lines ...string) []byte {
	return imagetest.Caption(t, lines...)
}

func requireTesseract(t *testing.T, e *Engine) {
	t.Helper()
	if !e.Available() {
		shareddata.SkipOrFail(t, "%s", e.Status())
	}
}

func TestRecognizeListingPhotos(t *testing.T) {
	engine := New(Config{})
	requireTesseract(t, engine)
	tests := []struct {
		name  string
		lines []string
		// want are the pieces the detectors need (code words, contact ids);
		// small OCR errors elsewhere are allowed.
		want []string
	}{
		{"code word and WeChat id", []string{"老白塑料手镯", "加V: ivory888"}, []string{"白塑料", "ivory888"}},
		{"mixed Chinese and English", []string{"犀角 XJ 正品 rhino horn", "微信 wx_tiger2026"}, []string{"犀角", "rhinohorn", "wx_tiger2026"}},
		{"English only", []string{"Genuine pangolin scales", "WhatsApp +44 7700 900123"}, []string{"pangolin", "7700900123"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, err := engine.Recognize(context.Background(), renderListingPhoto(t, tt.lines...))
			if err != nil {
				t.Fatal(err)
			}
			compact := strings.Join(strings.Fields(text), "")
			for _, want := range tt.want {
				if !strings.Contains(compact, want) {
					t.Errorf("recognised text %q does not contain %q", text, want)
				}
			}
		})
	}
}

func TestRecognizeAllKeepsOrder(t *testing.T) {
	engine := New(Config{Languages: "eng", Concurrency: 2})
	requireTesseract(t, engine)
	words := []string{"PANGOLIN", "RHINO", "TIGER"}
	var images [][]byte
	for _, w := range words {
		images = append(images, renderListingPhoto(t, w))
	}
	images = append(images, []byte("not an image"))
	results := engine.RecognizeAll(context.Background(), images)
	if len(results) != len(images) {
		t.Fatalf("%d results for %d images", len(results), len(images))
	}
	for i, w := range words {
		if results[i].Err != nil || !strings.Contains(results[i].Text, w) {
			t.Errorf("image %d: text %q, error %v; want %q", i, results[i].Text, results[i].Err, w)
		}
	}
	if results[3].Err == nil {
		t.Errorf("garbage input recognised as %q without error", results[3].Text)
	}
}

func TestRecognizeTimesOut(t *testing.T) {
	engine := New(Config{Timeout: time.Nanosecond})
	requireTesseract(t, engine)
	_, err := engine.Recognize(context.Background(), renderListingPhoto(t, "TIMEOUT"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want a deadline exceeded", err)
	}
}

func TestMissingLanguageMakesEngineUnavailable(t *testing.T) {
	engine := New(Config{Languages: "chi_sim+wildwarden_no_such_language"})
	requireTesseract(t, New(Config{}))
	if engine.Available() {
		t.Fatal("an engine with a missing language model is reported available")
	}
	if !strings.Contains(engine.Status(), "wildwarden_no_such_language") {
		t.Errorf("Status %q does not name the missing language", engine.Status())
	}
}

func TestUnavailableEngine(t *testing.T) {
	engine := New(Config{Binary: "wildwarden-no-such-tesseract"})
	if engine.Available() {
		t.Fatal("a missing binary is reported available")
	}
	if status := engine.Status(); !strings.Contains(status, "ocr: off") || !strings.Contains(status, "wildwarden-no-such-tesseract") {
		t.Errorf("Status %q does not say OCR is off", engine.Status())
	}
	if _, err := engine.Recognize(context.Background(), []byte("x")); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Recognize error %v, want ErrUnavailable", err)
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"老 白 塑 料 手 镯\n\n加 V: ivory888\n", "老白塑料手镯\n加 V: ivory888"},
		{"  hello   world  ", "hello   world"},
		{"象牙 ivory 白塑料", "象牙 ivory 白塑料"},
		{"\f\n", ""},
	}
	for _, tt := range tests {
		if got := CleanText(tt.in); got != tt.want {
			t.Errorf("CleanText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestConcurrencyLimit runs a stand-in for tesseract that records how many
// copies run at once, so the semaphore is tested without Tesseract.
func TestConcurrencyLimit(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("needs /bin/sh for the stand-in binary")
	}
	dir := t.TempDir()
	running := dir + "/running"
	if err := os.Mkdir(running, 0o700); err != nil {
		t.Fatal(err)
	}
	script := dir + "/fake-tesseract"
	body := "#!/bin/sh\n" +
		"if [ \"$1\" = --list-langs ]; then printf 'List of languages\\nchi_sim\\nchi_tra\\n'; exit 0; fi\n" +
		"cat >/dev/null\n" +
		"touch " + running + "/$$\n" +
		"ls " + running + " | wc -l >> " + dir + "/counts\n" +
		"sleep 0.2\n" +
		"rm " + running + "/$$\n" +
		"echo '白 塑 料'\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	engine := New(Config{Binary: script, Concurrency: 2})
	results := engine.RecognizeAll(context.Background(), make([][]byte, 6))
	for _, r := range results {
		if r.Err != nil || r.Text != "白塑料" {
			t.Fatalf("result %d: %q, %v", r.Index, r.Text, r.Err)
		}
	}
	counts, err := os.ReadFile(dir + "/counts")
	if err != nil {
		t.Fatal(err)
	}
	seen := strings.Fields(string(counts))
	if len(seen) != 6 {
		t.Fatalf("stand-in ran %d times, want 6", len(seen))
	}
	for _, n := range seen {
		if n != "1" && n != "2" {
			t.Errorf("%s copies ran at once; the limit is 2", n)
		}
	}
}
