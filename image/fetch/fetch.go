package fetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/image/webp"
)

// Defaults for Config's zero fields.
const (
	DefaultMaxBytes     = 10 << 20
	DefaultTimeout      = 15 * time.Second
	DefaultMaxPixels    = 40_000_000
	DefaultMaxRedirects = 5
	DefaultCacheEntries = 128
	// DefaultCachePixels bounds the decoded images held by the cache: at 4
	// bytes a pixel, about 1 GB at worst.
	DefaultCachePixels = 256_000_000
	defaultUserAgent   = "wildwarden-image-fetcher/1"
)

// Config sets the fetcher's limits. Zero fields take the defaults.
type Config struct {
	MaxBytes     int64         // largest image file, in bytes
	Timeout      time.Duration // total time for one fetch, body included
	MaxPixels    int64         // largest width × height decoded
	MaxRedirects int           // redirects followed; negative means none
	// AllowLocalFiles lets references be local paths or file:// URLs. The
	// CLI sets it for files on the operator's disk; the service must not.
	AllowLocalFiles bool
	// AllowAddrs are exact addresses and ports dialled even though their
	// range is refused, for tests that serve images from 127.0.0.1.
	AllowAddrs []netip.AddrPort
	// CacheEntries and CachePixels bound the cache of decoded images;
	// CacheEntries < 0 turns it off.
	CacheEntries int
	CachePixels  int64
	UserAgent    string
}

func (c Config) withDefaults() Config {
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxPixels <= 0 {
		c.MaxPixels = DefaultMaxPixels
	}
	if c.MaxRedirects == 0 {
		c.MaxRedirects = DefaultMaxRedirects
	}
	if c.CacheEntries == 0 {
		c.CacheEntries = DefaultCacheEntries
	}
	if c.CachePixels <= 0 {
		c.CachePixels = DefaultCachePixels
	}
	if c.UserAgent == "" {
		c.UserAgent = defaultUserAgent
	}
	return c
}

// Image is a fetched and decoded picture. Images served from the cache
// share Data and Image with earlier results: treat both as read-only.
type Image struct {
	// Ref is the reference it was fetched by, shortened for logs when it is
	// a long data: URI.
	Ref    string
	Format string // "jpeg", "png", "gif" or "webp", sniffed from the bytes
	SHA256 [32]byte
	Data   []byte // the file's bytes
	Width  int
	Height int
	Image  image.Image
}

// Fetcher fetches and decodes images within its Config's limits. It is safe
// for concurrent use.
type Fetcher struct {
	cfg    Config
	client *http.Client
	cache  *Cache[*Image]
}

// New returns a fetcher with the given limits.
func New(cfg Config) *Fetcher {
	cfg = cfg.withDefaults()
	f := &Fetcher{cfg: cfg, cache: NewCache[*Image](cfg.CacheEntries, cfg.CachePixels)}
	dialer := &net.Dialer{Timeout: cfg.Timeout, Control: f.checkDial}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would dial for us, unchecked
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		IdleConnTimeout:       60 * time.Second,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
	}
	f.client = &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > cfg.MaxRedirects {
				return fmt.Errorf("after %d redirects: %w", len(via)-1, ErrTooManyRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to scheme %q: %w", req.URL.Scheme, ErrUnsupportedScheme)
			}
			return nil
		},
	}
	return f
}

// Fetch loads, checks and decodes the image named by ref: an http(s) URL, a
// data: URI, or, when allowed, a local path or file:// URL.
func (f *Fetcher) Fetch(ctx context.Context, ref string) (*Image, error) {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	data, err := f.load(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", shortRef(ref), timeoutAware(ctx, err))
	}
	img, err := f.decode(ref, data)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", shortRef(ref), err)
	}
	return img, nil
}

// Decode checks and decodes image bytes obtained elsewhere (an upload),
// with the same format and pixel limits as Fetch.
func (f *Fetcher) Decode(ref string, data []byte) (*Image, error) {
	if int64(len(data)) > f.cfg.MaxBytes {
		return nil, fmt.Errorf("decode %s: %d bytes, more than %d: %w", shortRef(ref), len(data), f.cfg.MaxBytes, ErrTooLarge)
	}
	img, err := f.decode(ref, data)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", shortRef(ref), err)
	}
	return img, nil
}

// timeoutAware turns a deadline hit anywhere below into ErrTimeout.
func timeoutAware(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%v: %w", err, ErrTimeout)
	}
	return err
}

// load returns the bytes ref names, within the size limit.
func (f *Fetcher) load(ctx context.Context, ref string) ([]byte, error) {
	if _, ok := cutPrefixFold(ref, "data:"); ok {
		data, _, err := parseDataURI(ref, f.cfg.MaxBytes)
		return data, err
	}
	u, err := url.Parse(ref)
	scheme := ""
	if err == nil {
		scheme = strings.ToLower(u.Scheme)
	}
	switch {
	case scheme == "http" || scheme == "https":
		return f.loadHTTP(ctx, u)
	case scheme == "file":
		return f.loadFile(u.Path)
	case scheme == "" || isWindowsDrive(scheme):
		return f.loadFile(ref)
	default:
		return nil, fmt.Errorf("scheme %q: %w", scheme, ErrUnsupportedScheme)
	}
}

// isWindowsDrive reports whether a parsed "scheme" is really a drive
// letter, as in C:\photos\1.jpg.
func isWindowsDrive(scheme string) bool { return len(scheme) == 1 }

func (f *Fetcher) loadFile(path string) ([]byte, error) {
	if !f.cfg.AllowLocalFiles {
		return nil, ErrLocalFilesDisabled
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer file.Close()
	return readCapped(file, f.cfg.MaxBytes)
}

func (f *Fetcher) loadHTTP(ctx context.Context, u *url.URL) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("User-Agent", f.cfg.UserAgent)
	req.Header.Set("Accept", "image/jpeg, image/png, image/gif, image/webp")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s: %w", resp.Status, ErrHTTPStatus)
	}
	if resp.ContentLength > f.cfg.MaxBytes {
		return nil, fmt.Errorf("declared length %d, more than %d: %w", resp.ContentLength, f.cfg.MaxBytes, ErrTooLarge)
	}
	return readCapped(resp.Body, f.cfg.MaxBytes)
}

// readCapped reads r to the end, or stops one byte past maxBytes and fails.
func readCapped(r io.Reader, maxBytes int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("more than %d bytes: %w", maxBytes, ErrTooLarge)
	}
	return data, nil
}

// decoders are the formats accepted, by sniffed name.
var decoders = map[string]struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}{
	"jpeg": {jpeg.DecodeConfig, jpeg.Decode},
	"png":  {png.DecodeConfig, png.Decode},
	"gif":  {gif.DecodeConfig, gif.Decode},
	"webp": {webp.DecodeConfig, webp.Decode},
}

// Sniff returns the image format of data from its first bytes ("jpeg",
// "png", "gif", "webp"), or "" for anything else.
func Sniff(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}):
		return "jpeg"
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return "gif"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "webp"
	}
	return ""
}

// decode sniffs, checks the header's dimensions, then decodes, using the
// cache when the same bytes were decoded before.
func (f *Fetcher) decode(ref string, data []byte) (*Image, error) {
	sum := sha256.Sum256(data)
	if cached, ok := f.cache.Get(sum); ok {
		img := *cached
		img.Ref = shortRef(ref)
		return &img, nil
	}
	format := Sniff(data)
	if format == "" {
		return nil, ErrUnsupportedFormat
	}
	codec := decoders[format]
	config, err := codec.config(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s header: %v: %w", format, err, ErrUnsupportedFormat)
	}
	pixels := int64(config.Width) * int64(config.Height)
	if config.Width <= 0 || config.Height <= 0 || pixels > f.cfg.MaxPixels {
		return nil, fmt.Errorf("%d×%d %s (%d pixels, at most %d): %w", config.Width, config.Height, format, pixels, f.cfg.MaxPixels, ErrTooManyPixels)
	}
	decoded, err := codec.decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %v: %w", format, err, ErrUnsupportedFormat)
	}
	img := &Image{Ref: shortRef(ref), Format: format, SHA256: sum, Data: data,
		Width: config.Width, Height: config.Height, Image: decoded}
	f.cache.Put(sum, img, pixels)
	return img, nil
}

// shortRef shortens a reference for messages and logs: data: URIs can be
// megabytes long.
func shortRef(ref string) string {
	const limit = 80
	if len(ref) <= limit {
		return ref
	}
	return ref[:limit] + "…"
}
