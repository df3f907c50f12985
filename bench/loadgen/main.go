// Command loadgen drives POST /v1/screen at fixed concurrency for a bounded
// time and reports requests per second and latency percentiles. Each
// request carries a new listing ID, so every answered request writes a
// verdict.
//
//	go run ./bench/loadgen -url http://127.0.0.1:8080 -key ww_… -c 32 -d 20s
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "service base URL")
	key := flag.String("key", os.Getenv("WW_KEY"), "platform API key (default $WW_KEY)")
	conc := flag.Int("c", 32, "concurrent connections")
	dur := flag.Duration("d", 20*time.Second, "duration of the measured run (at most 30s)")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured warm-up before the run")
	corpus := flag.String("corpus", "", "JSON Lines file of listings to send (default: built-in listings)")
	okFile := flag.String("ok-file", "", "write the IDs of listings answered 2xx here, one a line")
	flag.Parse()
	if *key == "" {
		fail("loadgen: give -key or $WW_KEY")
	}
	if *dur > 30*time.Second {
		*dur = 30 * time.Second
	}
	bodies, err := loadBodies(*corpus)
	if err != nil {
		fail("loadgen: %v", err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc, MaxConnsPerHost: *conc}, Timeout: 10 * time.Second}
	endpoint := strings.TrimRight(*url, "/") + "/v1/screen"

	run := func(d time.Duration, prefix string) result {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		var wg sync.WaitGroup
		results := make([]result, *conc)
		var seq atomic.Int64
		start := time.Now()
		for w := 0; w < *conc; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				r := &results[w]
				for ctx.Err() == nil {
					n := seq.Add(1)
					id := fmt.Sprintf("%s-%d", prefix, n)
					body := fmt.Appendf(nil, `{"id":%q,%s`, id, bodies[int(n)%len(bodies)])
					t0 := time.Now()
					status, err := post(client, endpoint, *key, body)
					lat := time.Since(t0)
					switch {
					case err != nil:
						if ctx.Err() == nil {
							r.errors++
						}
					case status >= 200 && status < 300:
						r.latencies = append(r.latencies, lat)
						r.okIDs = append(r.okIDs, id)
					default:
						r.non2xx++
					}
				}
			}(w)
		}
		wg.Wait()
		total := result{elapsed: time.Since(start)}
		for _, r := range results {
			total.latencies = append(total.latencies, r.latencies...)
			total.okIDs = append(total.okIDs, r.okIDs...)
			total.errors += r.errors
			total.non2xx += r.non2xx
		}
		return total
	}
	if *warmup > 0 {
		run(*warmup, fmt.Sprintf("warm%d", time.Now().UnixNano()))
	}
	res := run(*dur, fmt.Sprintf("load%d", time.Now().UnixNano()))
	sort.Slice(res.latencies, func(i, j int) bool { return res.latencies[i] < res.latencies[j] })
	pct := func(p float64) time.Duration {
		if len(res.latencies) == 0 {
			return 0
		}
		return res.latencies[min(len(res.latencies)-1, int(p*float64(len(res.latencies))))]
	}
	fmt.Printf("concurrency %d, %s: %d ok, %d non-2xx, %d errors\n", *conc, res.elapsed.Round(time.Millisecond), len(res.latencies), res.non2xx, res.errors)
	fmt.Printf("throughput %.0f req/s\n", float64(len(res.latencies))/res.elapsed.Seconds())
	fmt.Printf("latency p50 %s  p90 %s  p99 %s  max %s\n", pct(0.50), pct(0.90), pct(0.99), pct(1))
	if *okFile != "" {
		if err := os.WriteFile(*okFile, []byte(strings.Join(res.okIDs, "\n")+"\n"), 0o644); err != nil {
			fail("loadgen: %v", err)
		}
	}
}

type result struct {
	latencies      []time.Duration
	okIDs          []string
	errors, non2xx int
	elapsed        time.Duration
}

func post(client *http.Client, url, key string, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// loadBodies returns listing bodies without their ID (the rest of a JSON
// object after `{"id":…,`), from a corpus or a built-in mix of ordinary and
// offending listings.
func loadBodies(path string) ([]string, error) {
	var listings []map[string]any
	if path == "" {
		for _, s := range builtin {
			var m map[string]any
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				return nil, err
			}
			listings = append(listings, m)
		}
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() && len(listings) < 5000 {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				listings = append(listings, m)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	var out []string
	for _, m := range listings {
		delete(m, "id")
		if len(m) == 0 {
			continue
		}
		data, _ := json.Marshal(m)
		out = append(out, string(data[1:]))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no listings in %s", path)
	}
	return out, nil
}

// builtin is a small mix: mostly ordinary listings, some that the engine
// blocks or sends to review.
var builtin = []string{
	`{"title":"Vintage carved bangle, excellent condition","description":"Ships worldwide. Message me for price and more photos.","price":120}`,
	`{"title":"Ceramic teapot, hand painted","description":"Bought in Jingdezhen, never used.","price":35,"currency":"EUR"}`,
	`{"title":"象牙白连衣裙 夏季新款","description":"雪纺面料，尺码齐全","price":199,"currency":"CNY"}`,
	`{"title":"Tiger Balm ointment 30g","description":"Sealed, expiry 2028.","price":6}`,
	`{"title":"老白塑料手镯 包邮","description":"私聊价格，支持验货，量大从优。加V详聊","price":1200,"currency":"CNY"}`,
	`{"title":"Mountain bike 29er, hydraulic brakes","description":"Light use, serviced last month.","price":450}`,
	`{"title":"Old carved netsuke, pre-ban bovine bone","description":"WhatsApp for more pictures, serious buyers only","price":900}`,
	`{"title":"Children's picture book about elephants","description":"Hardcover, like new.","price":8}`,
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}
