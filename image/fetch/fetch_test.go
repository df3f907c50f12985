package fetch

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wildwarden/wildwarden"
)

func samplePNG(t testing.TB) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 32, 24))
	for y := range 24 {
		for x := range 32 {
			img.Set(x, y, color.NRGBA{uint8(8 * x), uint8(10 * y), 90, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngHeaderOnly returns a PNG signature and IHDR chunk declaring the given
// size and no pixel data: what a decompression bomb looks like to
// DecodeConfig.
func pngHeaderOnly(width, height uint32) []byte {
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], width)
	binary.BigEndian.PutUint32(ihdr[4:], height)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk := append([]byte("IHDR"), ihdr...)
	_ = binary.Write(&buf, binary.BigEndian, uint32(len(ihdr)))
	buf.Write(chunk)
	_ = binary.Write(&buf, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return buf.Bytes()
}

// serverAddr is the address and port of a test server, to allow it.
func serverAddr(t *testing.T, srv *httptest.Server) netip.AddrPort {
	t.Helper()
	addr, err := netip.ParseAddrPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestFetchHTTP(t *testing.T) {
	body := samplePNG(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain") // ignored: the bytes decide
		w.Write(body)
	}))
	defer srv.Close()
	f := New(Config{AllowAddrs: []netip.AddrPort{serverAddr(t, srv)}})
	img, err := f.Fetch(context.Background(), srv.URL+"/photo")
	if err != nil {
		t.Fatal(err)
	}
	if img.Format != "png" || img.Width != 32 || img.Height != 24 || img.Image.Bounds().Dx() != 32 {
		t.Errorf("got %s %d×%d", img.Format, img.Width, img.Height)
	}
}

func TestFetchRefusals(t *testing.T) {
	body := samplePNG(t)
	var bytesSent atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect-loopback":
			http.Redirect(w, r, target.URL+"/photo", http.StatusFound)
		case "/redirect-loopback-name":
			_, port, _ := net.SplitHostPort(target.Listener.Addr().String())
			http.Redirect(w, r, "http://localhost:"+port+"/photo", http.StatusFound)
		case "/redirect-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/redirect-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case "/redirect-loop":
			http.Redirect(w, r, "/redirect-loop", http.StatusFound)
		case "/endless":
			// A 1 GB body, streamed: the fetcher must stop reading at its cap.
			chunk := make([]byte, 64<<10)
			for sent := int64(0); sent < 1<<30; sent += int64(len(chunk)) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
				bytesSent.Add(int64(len(chunk)))
			}
		case "/declared-huge":
			w.Header().Set("Content-Length", "1073741824")
			w.WriteHeader(http.StatusOK)
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		case "/bomb":
			w.Write(pngHeaderOnly(30000, 30000))
		case "/text":
			w.Write([]byte("<html>not an image</html>"))
		case "/missing":
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	dir := t.TempDir()
	localPNG := filepath.Join(dir, "photo.png")
	if err := os.WriteFile(localPNG, body, 0o600); err != nil {
		t.Fatal(err)
	}
	service := New(Config{Timeout: 2 * time.Second, AllowAddrs: []netip.AddrPort{serverAddr(t, srv)}})
	tests := []struct {
		name    string
		fetcher *Fetcher
		ref     string
		want    error
	}{
		{"redirect to another loopback port", service, srv.URL + "/redirect-loopback", ErrBlockedAddress},
		{"redirect to localhost by name", service, srv.URL + "/redirect-loopback-name", ErrBlockedAddress},
		{"redirect to cloud metadata", service, srv.URL + "/redirect-metadata", ErrBlockedAddress},
		{"redirect to a file", service, srv.URL + "/redirect-file", ErrUnsupportedScheme},
		{"redirect loop", service, srv.URL + "/redirect-loop", ErrTooManyRedirects},
		{"loopback without allow rule", New(Config{}), target.URL + "/photo", ErrBlockedAddress},
		{"private address literal", service, "http://10.0.0.1/x.jpg", ErrBlockedAddress},
		{"1 GB body cut at the limit", service, srv.URL + "/endless", ErrTooLarge},
		{"declared length over the limit", service, srv.URL + "/declared-huge", ErrTooLarge},
		{"slow server times out", New(Config{Timeout: 300 * time.Millisecond, AllowAddrs: []netip.AddrPort{serverAddr(t, srv)}}), srv.URL + "/slow", ErrTimeout},
		{"30000×30000 PNG refused before decoding", service, srv.URL + "/bomb", ErrTooManyPixels},
		{"HTML is not an image", service, srv.URL + "/text", ErrUnsupportedFormat},
		{"404", service, srv.URL + "/missing", ErrHTTPStatus},
		{"ftp scheme", service, "ftp://example.com/x.jpg", ErrUnsupportedScheme},
		{"local path refused by default", service, localPNG, ErrLocalFilesDisabled},
		{"file URL refused by default", service, "file://" + localPNG, ErrLocalFilesDisabled},
		{"data: URI over the limit", New(Config{MaxBytes: 100}), "data:image/png;base64," + base64.StdEncoding.EncodeToString(body), ErrTooLarge},
		{"data: URI bomb", service, "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngHeaderOnly(30000, 30000)), ErrTooManyPixels},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := tt.fetcher.Fetch(context.Background(), tt.ref)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Fetch = %v, %v; want error %v", img, err, tt.want)
			}
			if code := wildwarden.ErrorCode(err); code == wildwarden.EINTERNAL {
				t.Errorf("error %v has no domain code", err)
			}
		})
	}
	if sent := bytesSent.Load(); sent > 100<<20 {
		t.Errorf("the server sent %d MB before the fetcher stopped reading; want about 10 MB", sent>>20)
	}
}

func TestFetchDataURIAndLocalFiles(t *testing.T) {
	body := samplePNG(t)
	dir := t.TempDir()
	localPNG := filepath.Join(dir, "photo.png")
	if err := os.WriteFile(localPNG, body, 0o600); err != nil {
		t.Fatal(err)
	}
	cli := New(Config{AllowLocalFiles: true})
	for _, ref := range []string{
		"data:image/png;base64," + base64.StdEncoding.EncodeToString(body),
		"data:;base64," + base64.RawStdEncoding.EncodeToString(body), // no media type, no padding
		localPNG,
		"file://" + localPNG,
	} {
		t.Run(shortRef(ref), func(t *testing.T) {
			img, err := cli.Fetch(context.Background(), ref)
			if err != nil {
				t.Fatal(err)
			}
			if img.Format != "png" || img.Width != 32 || !bytes.Equal(img.Data, body) {
				t.Errorf("got %s %d×%d, %d bytes", img.Format, img.Width, img.Height, len(img.Data))
			}
		})
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		data []byte
		want string
	}{
		{[]byte{0xff, 0xd8, 0xff, 0xe0}, "jpeg"},
		{[]byte("\x89PNG\r\n\x1a\n...."), "png"},
		{[]byte("GIF89a...."), "gif"},
		{[]byte("GIF87a...."), "gif"},
		{[]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), "webp"},
		{[]byte("RIFF\x00\x00\x00\x00WAVEfmt "), ""},
		{[]byte("<svg xmlns="), ""},
		{[]byte("BM"), ""},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := Sniff(tt.data); got != tt.want {
			t.Errorf("Sniff(%q) = %q, want %q", tt.data, got, tt.want)
		}
	}
}

func TestBlockedAddresses(t *testing.T) {
	tests := []struct {
		addr    string
		blocked bool
	}{
		{"127.0.0.1", true},
		{"127.8.9.10", true},
		{"::1", true},
		{"10.1.2.3", true},
		{"172.16.0.1", true},
		{"192.168.1.1", true},
		{"169.254.169.254", true}, // cloud metadata
		{"100.100.100.200", true}, // Alibaba metadata, CGNAT
		{"100.64.0.1", true},
		{"168.63.129.16", true}, // Azure
		{"0.0.0.0", true},
		{"::", true},
		{"224.0.0.1", true},
		{"255.255.255.255", true},
		{"fe80::1", true},
		{"fc00::1", true},
		{"fd00:ec2::254", true},
		{"::ffff:127.0.0.1", true}, // IPv4-mapped loopback
		{"::ffff:10.0.0.1", true},
		{"64:ff9b::a00:1", true}, // NAT64 of 10.0.0.1
		{"2002:a00:1::", true},   // 6to4 of 10.0.0.1
		{"93.184.215.14", false},
		{"8.8.8.8", false},
		{"2606:4700::1111", false},
	}
	for _, tt := range tests {
		if got := isBlockedAddr(netip.MustParseAddr(tt.addr)); got != tt.blocked {
			t.Errorf("isBlockedAddr(%s) = %v, want %v", tt.addr, got, tt.blocked)
		}
	}
}

func TestCacheDecodesOnce(t *testing.T) {
	body := samplePNG(t)
	f := New(Config{})
	first, err := f.Decode("upload-1", body)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.Decode("upload-2", body)
	if err != nil {
		t.Fatal(err)
	}
	if first.Image != second.Image {
		t.Errorf("same bytes were decoded twice")
	}
	if second.Ref != "upload-2" || first.Ref != "upload-1" {
		t.Errorf("cached image lost its reference: %q, %q", first.Ref, second.Ref)
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	key := func(b byte) [32]byte { return [32]byte{b} }
	tests := []struct {
		name       string
		maxEntries int
		maxCost    int64
		puts       []int64 // costs of keys 1, 2, 3…
		touch      byte    // key read before the last put, 0 for none
		wantKept   []byte
	}{
		{"entry bound", 2, 0, []int64{1, 1, 1}, 0, []byte{2, 3}},
		{"recently read survives", 2, 0, []int64{1, 1, 1}, 1, []byte{1, 3}},
		{"cost bound", 10, 10, []int64{4, 4, 4}, 0, []byte{2, 3}},
		{"too costly is not stored", 10, 10, []int64{4, 11}, 0, []byte{1}},
		{"disabled", 0, 0, []int64{1}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCache[int](tt.maxEntries, tt.maxCost)
			for i, cost := range tt.puts {
				if i == len(tt.puts)-1 && tt.touch != 0 {
					c.Get(key(tt.touch))
				}
				c.Put(key(byte(i+1)), i+1, cost)
			}
			var kept []byte
			for k := byte(1); k <= byte(len(tt.puts)); k++ {
				if v, ok := c.Get(key(k)); ok {
					if v != int(k) {
						t.Errorf("key %d holds %d", k, v)
					}
					kept = append(kept, k)
				}
			}
			if string(kept) != string(tt.wantKept) {
				t.Errorf("kept %v, want %v", kept, tt.wantKept)
			}
		})
	}
}

func TestParseDataURI(t *testing.T) {
	tests := []struct {
		uri       string
		wantData  string
		wantType  string
		wantError error
	}{
		{"data:image/png;base64,aGVsbG8=", "hello", "image/png", nil},
		{"DATA:image/png;BASE64,aGVs\nbG8=", "hello", "image/png", nil},
		{"data:,hello%20world", "hello world", "", nil},
		{"data:image/png;base64,aGVsbG8", "hello", "image/png", nil},
		{"data:image/png;base64", "", "", ErrInvalidDataURI},
		{"data:image/png;base64,!!!!", "", "", ErrInvalidDataURI},
		{"data:,%zz", "", "", ErrInvalidDataURI},
		{"data:;base64," + strings.Repeat("A", 400), "", "", ErrTooLarge},
		{"http://x", "", "", ErrInvalidDataURI},
	}
	for _, tt := range tests {
		t.Run(shortRef(tt.uri), func(t *testing.T) {
			data, mediaType, err := parseDataURI(tt.uri, 100)
			if !errors.Is(err, tt.wantError) {
				t.Fatalf("error %v, want %v", err, tt.wantError)
			}
			if string(data) != tt.wantData || mediaType != tt.wantType {
				t.Errorf("got %q (%q), want %q (%q)", data, mediaType, tt.wantData, tt.wantType)
			}
		})
	}
}

// FuzzParseDataURI checks that any input either parses within the size
// limit or fails with a typed error, and never panics.
func FuzzParseDataURI(f *testing.F) {
	for _, seed := range []string{"data:image/png;base64,aGVsbG8=", "data:,a%20b", "data:;base64,", "data:", "data:image/gif;base64,R0lGODlhAQABAAAAACw="} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		const limit = 1 << 10
		data, _, err := parseDataURI(uri, limit)
		if err != nil {
			if !errors.Is(err, ErrInvalidDataURI) && !errors.Is(err, ErrTooLarge) {
				t.Errorf("untyped error %v", err)
			}
			return
		}
		if len(data) > limit {
			t.Errorf("returned %d bytes, over the %d limit", len(data), limit)
		}
	})
}
