package ocr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Defaults for Config's zero fields.
const (
	DefaultBinary = "tesseract"
	// DefaultLanguages leaves out "eng" on purpose: with Tesseract 5.3 and
	// the Debian models, adding eng made it read a line of Chinese
	// (老白塑料手镯) as Latin letters ("EAB Se"), while the Chinese models
	// alone read Latin letters, digits and English words as well as eng
	// did on our samples. Add "+eng" in the configuration to compare.
	DefaultLanguages   = "chi_sim+chi_tra"
	DefaultTimeout     = 30 * time.Second
	DefaultConcurrency = 2
	// DefaultPageSegMode is Tesseract's "fully automatic page segmentation":
	// photos are not pages, but it finds text blocks anywhere.
	DefaultPageSegMode = 3
)

// ErrUnavailable is returned when Tesseract was not found.
var ErrUnavailable = errors.New("ocr: tesseract is not available")

// Config sets how Tesseract is run. Zero fields take the defaults.
type Config struct {
	Binary      string        // command name or path
	Languages   string        // Tesseract language list, e.g. "chi_sim+eng"
	Timeout     time.Duration // per image
	Concurrency int           // processes at once
	PageSegMode int           // Tesseract --psm
}

func (c Config) withDefaults() Config {
	if c.Binary == "" {
		c.Binary = DefaultBinary
	}
	if c.Languages == "" {
		c.Languages = DefaultLanguages
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.PageSegMode <= 0 {
		c.PageSegMode = DefaultPageSegMode
	}
	return c
}

// Engine runs Tesseract. It is safe for concurrent use.
type Engine struct {
	cfg    Config
	path   string // resolved binary; "" when not found
	err    error  // why it is unavailable, wrapping ErrUnavailable
	reason string // the same, for Status
	sem    chan struct{}
}

// New looks for the Tesseract binary and returns an engine; check Available
// before relying on it.
func New(cfg Config) *Engine {
	cfg = cfg.withDefaults()
	e := &Engine{cfg: cfg, sem: make(chan struct{}, cfg.Concurrency)}
	path, err := exec.LookPath(cfg.Binary)
	if err == nil {
		err = checkLanguages(path, cfg.Languages)
	}
	if err != nil {
		e.reason = err.Error()
		e.err = fmt.Errorf("%w: %v", ErrUnavailable, err)
		return e
	}
	e.path = path
	return e
}

// checkLanguages asks Tesseract which language models are installed and
// reports the first configured one that is missing.
func checkLanguages(path, languages string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--list-langs").Output()
	if err != nil {
		return fmt.Errorf("%s --list-langs: %v", path, err)
	}
	installed := make(map[string]bool)
	for _, line := range strings.Split(string(out), "\n") {
		installed[strings.TrimSpace(line)] = true
	}
	for _, lang := range strings.Split(languages, "+") {
		if !installed[lang] {
			return fmt.Errorf("language model %q is not installed (Debian package tesseract-ocr-%s)", lang, strings.ReplaceAll(lang, "_", "-"))
		}
	}
	return nil
}

// Available reports whether the Tesseract binary was found.
func (e *Engine) Available() bool { return e.path != "" }

// Status is one line for the log: which binary and languages OCR uses, or
// why it is off.
func (e *Engine) Status() string {
	if !e.Available() {
		return fmt.Sprintf("ocr: off: %v; install tesseract-ocr with tesseract-ocr-chi-sim, -chi-tra and -eng to read text in images", e.reason)
	}
	return fmt.Sprintf("ocr: on: %s, languages %s, %d at once, %s timeout", e.path, e.cfg.Languages, e.cfg.Concurrency, e.cfg.Timeout)
}

// Recognize returns the text in an image given as PNG, JPEG, GIF or TIFF
// bytes (what Tesseract's image library reads; use RecognizeImage for
// WebP). It waits for a free slot, and the Tesseract run is bounded by the
// configured timeout.
func (e *Engine) Recognize(ctx context.Context, data []byte) (string, error) {
	if !e.Available() {
		return "", e.err
	}
	select {
	case e.sem <- struct{}{}:
		defer func() { <-e.sem }()
	case <-ctx.Done():
		return "", fmt.Errorf("ocr: waiting for a free slot: %w", ctx.Err())
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.path, "stdin", "stdout", "-l", e.cfg.Languages, "--psm", strconv.Itoa(e.cfg.PageSegMode))
	cmd.Stdin = bytes.NewReader(data)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// One process is one slot: keep Tesseract from starting a thread per core.
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("ocr: tesseract: %w", ctx.Err())
		}
		return "", fmt.Errorf("ocr: tesseract: %w: %s", err, lastLine(stderr.String()))
	}
	return CleanText(stdout.String()), nil
}

// RecognizeImage encodes a decoded image as PNG and recognises it.
func (e *Engine) RecognizeImage(ctx context.Context, img image.Image) (string, error) {
	if !e.Available() {
		return "", e.err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", fmt.Errorf("ocr: encode image: %w", err)
	}
	return e.Recognize(ctx, buf.Bytes())
}

// Result is the text of one image of a batch.
type Result struct {
	Index int // position in the batch
	Text  string
	Err   error
}

// RecognizeAll recognises a listing's images concurrently (within the
// engine's limit) and returns one result per image, in order.
func (e *Engine) RecognizeAll(ctx context.Context, images [][]byte) []Result {
	results := make([]Result, len(images))
	var wg sync.WaitGroup
	for i, data := range images {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text, err := e.Recognize(ctx, data)
			results[i] = Result{Index: i, Text: text, Err: err}
		}()
	}
	wg.Wait()
	return results
}

// CleanText tidies Tesseract's output: it trims lines, drops empty ones,
// and removes the spaces Tesseract puts between Chinese characters (白 塑
// 料 → 白塑料), which would otherwise split words the text pipeline looks
// for.
func CleanText(text string) string {
	var lines []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(joinHanSpaces(line))
		if line != "" {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}

// joinHanSpaces removes runs of spaces that have a Han character on both
// sides.
func joinHanSpaces(line string) string {
	runes := []rune(line)
	out := make([]rune, 0, len(runes))
	for i := 0; i < len(runes); i++ {
		if unicode.IsSpace(runes[i]) && len(out) > 0 && unicode.Is(unicode.Han, out[len(out)-1]) {
			j := i
			for j < len(runes) && unicode.IsSpace(runes[j]) {
				j++
			}
			if j < len(runes) && unicode.Is(unicode.Han, runes[j]) {
				i = j - 1
				continue
			}
		}
		out = append(out, runes[i])
	}
	return string(out)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
