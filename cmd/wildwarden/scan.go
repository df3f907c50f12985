package main

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/listings"
	"github.com/wildwarden/wildwarden/screen"
)

// exitSkipped is the exit status of a scan that finished but skipped
// malformed lines.
const exitSkipped = 3

// engineFlags are the flags of every command that makes verdicts.
type engineFlags struct {
	kbDir, policyPath, modelPath string
	dropAllowSignals             bool // set by scan --signals flagged, not a flag of its own
}

func (f *engineFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.kbDir, "kb", "", "knowledge-base directory (default: the embedded one)")
	cmd.Flags().StringVar(&f.policyPath, "policy", "", "policy YAML file (default: the embedded one)")
	cmd.Flags().StringVar(&f.modelPath, "model", "", `scoring model: "keyword" (the knowledge base's weights, the default), "default" (the embedded learned classifier) or a model file`)
}

func (f *engineFlags) engine() (*screen.Engine, error) {
	opts := screen.Options{KBDir: f.kbDir, PolicyPath: f.policyPath, DropAllowSignals: f.dropAllowSignals}
	scorer, err := loadScorer(f.modelPath, f.kbDir)
	if err != nil {
		return nil, err
	}
	opts.Scorer = scorer
	return screen.New(opts)
}

type scanOptions struct {
	engineFlags
	output     string
	format     string
	inFormat   string
	workers    int
	maxLine    int
	noProgress bool
	quiet      bool
	signals    string
	images     imageFlags
}

func init() {
	var o scanOptions
	cmd := &cobra.Command{
		Use:   "scan [flags] FILE…|-",
		Short: "Screen listings from JSON Lines or CSV files and write verdicts",
		Long: `Screen listings from JSON Lines or CSV files (by extension, or --input-format;
.gz files are decompressed; - reads standard input) and write one verdict per
listing, in input order, as JSON Lines or CSV.

Malformed lines are reported on standard error with their file and line number
and skipped; the scan goes on. The exit status is 0 when every line was
screened, 3 when some lines were skipped, 1 on any other failure.

Review and block verdicts list every signal with its evidence, and so do
allow verdicts that found something (a product judged lawful or an
imitation, a colour word, a false friend). An allow verdict whose only
signals are offer context (sale wording, a price, contact) lists none
unless --signals all is given: beside millions of ordinary listings that
is noise, and leaving it out makes the output about a third of the size.`,
		Example: `  wildwarden scan examples/listings.jsonl
  wildwarden scan -o verdicts.csv --format csv dump.jsonl.gz
  cat dump.jsonl | wildwarden scan --workers 2 - > verdicts.jsonl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runScan(cmd, args, &o) },
	}
	o.engineFlags.register(cmd)
	cmd.Flags().StringVarP(&o.output, "output", "o", "-", "write verdicts to this file (- is standard output)")
	cmd.Flags().StringVar(&o.format, "format", "", "output format: jsonl or csv (default: by the output file's extension, else jsonl)")
	cmd.Flags().StringVar(&o.inFormat, "input-format", "", "input format: jsonl or csv (default: by each file's extension)")
	cmd.Flags().IntVar(&o.workers, "workers", runtime.NumCPU(), "parallel workers")
	cmd.Flags().IntVar(&o.maxLine, "max-line", listings.DefaultMaxLine, "longest input line in bytes; longer lines are reported and skipped")
	cmd.Flags().BoolVar(&o.noProgress, "no-progress", false, "no progress bar even on a terminal")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "no summary")
	cmd.Flags().StringVar(&o.signals, "signals", signalsFlagged, `which verdicts list their signals: "flagged" (all but allow verdicts whose signals are only offer context: sale wording, a price, contact) or "all"`)
	o.images.register(cmd, false) // off by default: fetching images is slow
	cmd.Flags().StringVar(&o.images.db, "db", "", "with --images, match images against the banks in this SQLite database")
	cmd.Flags().StringVar(&o.images.tenant, "tenant", firstTenant, "with --db, whose banks (tenant name or ID)")
	rootCmd.AddCommand(cmd)
}

// scanItem is one line of input on its way through the pipeline.
type scanItem struct {
	file string
	line int
	raw  []byte              // a JSON line to decode, or
	l    *wildwarden.Listing // a listing already read (CSV)
	err  error               // an error found while reading
}

// scanBatch is a run of items screened together and written in order.
type scanBatch struct {
	seq   int
	items []scanItem
	out   bytes.Buffer
	stats scanStats
	errs  []string
}

// scanStats counts what a scan saw.
type scanStats struct {
	listings, skipped int
	decisions         map[wildwarden.Decision]int
	categories        map[string]int
}

func (s *scanStats) add(o *scanStats) {
	s.listings += o.listings
	s.skipped += o.skipped
	for k, v := range o.decisions {
		s.decisions[k] += v
	}
	for k, v := range o.categories {
		s.categories[k] += v
	}
}

func newStats() scanStats {
	return scanStats{decisions: map[wildwarden.Decision]int{}, categories: map[string]int{}}
}

const scanBatchSize = 256

func runScan(cmd *cobra.Command, args []string, o *scanOptions) error {
	start := time.Now()
	// A scan's heap is small and steady (the engine's tables and the
	// batches in flight): collect half as often as Go's default, with a
	// soft ceiling so memory stays bounded. GOGC and GOMEMLIMIT override.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(160 << 20)
	}
	outFormat := listings.JSONL
	if o.format != "" {
		f, err := listings.ParseFormat(o.format)
		if err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		outFormat = f
	} else if o.output != "-" {
		outFormat = listings.FormatOf(o.output)
	}
	var inFormat listings.Format
	if o.inFormat != "" {
		f, err := listings.ParseFormat(o.inFormat)
		if err != nil {
			return fmt.Errorf("--input-format: %w", err)
		}
		inFormat = f
	}
	if o.workers < 1 {
		return fmt.Errorf("--workers must be at least 1, not %d", o.workers)
	}
	// Check every input before spending time on the engine.
	var total int64
	for _, name := range args {
		if name == "-" {
			continue
		}
		st, err := os.Stat(name)
		if err != nil {
			return err
		}
		if st.IsDir() {
			return fmt.Errorf("%s is a directory", name)
		}
		total += st.Size()
	}
	if o.signals != signalsFlagged && o.signals != signalsAll {
		return fmt.Errorf("--signals %q: want %q or %q", o.signals, signalsFlagged, signalsAll)
	}
	o.dropAllowSignals = o.signals == signalsFlagged
	engine, err := o.engine()
	if err != nil {
		return err
	}
	images, err := o.images.newImageScan(cmd, engine)
	if err != nil {
		return err
	}

	var out io.Writer = cmd.OutOrStdout()
	if o.output != "-" {
		f, err := os.Create(o.output)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	stderr := cmd.ErrOrStderr()
	var bar *progressbar.ProgressBar
	if f, ok := stderr.(*os.File); ok && !o.noProgress && term.IsTerminal(int(f.Fd())) {
		max := total
		if max == 0 {
			max = -1
		}
		bar = progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("scanning"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
	}

	batches := make(chan *scanBatch, o.workers*2)
	done := make(chan *scanBatch, o.workers*2)
	tokens := make(chan struct{}, o.workers*4) // bounds the batches in flight
	var wg sync.WaitGroup
	for range o.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				screenBatch(engine, images, b, outFormat)
				done <- b
			}
		}()
	}

	var readErr error
	var bytesRead int64
	go func() {
		defer close(batches)
		seq := 0
		b := &scanBatch{seq: seq}
		tokens <- struct{}{}
		flush := func() {
			batches <- b
			seq++
			tokens <- struct{}{}
			b = &scanBatch{seq: seq}
		}
		emit := func(it scanItem) {
			b.items = append(b.items, it)
			if len(b.items) == scanBatchSize {
				flush()
			}
		}
		var last int64
		progress := func(n int64) {
			if bar != nil {
				_ = bar.Add64(n - last)
			}
			last = n
		}
		for _, name := range args {
			last = 0
			n, err := readInput(name, inFormat, o.maxLine, emit, progress)
			bytesRead += n
			if err != nil {
				readErr = err
				break
			}
		}
		batches <- b // the last, possibly empty, batch
	}()
	go func() { wg.Wait(); close(done) }()

	stats := newStats()
	w := newVerdictWriter(out, outFormat)
	pending := map[int]*scanBatch{}
	next := 0
	var writeErr error
	for b := range done {
		pending[b.seq] = b
		for {
			b, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			for _, e := range b.errs {
				fmt.Fprintln(stderr, "wildwarden: scan:", e)
			}
			if writeErr == nil {
				writeErr = w.write(b.out.Bytes())
			}
			stats.add(&b.stats)
			<-tokens
		}
	}
	if err := w.flush(); writeErr == nil {
		writeErr = err
	}
	if bar != nil {
		_ = bar.Finish()
	}
	if readErr != nil {
		return readErr
	}
	if writeErr != nil {
		return fmt.Errorf("writing verdicts: %w", writeErr)
	}
	if !o.quiet {
		printSummary(stderr, &stats, bytesRead, time.Since(start), o.workers)
	}
	if stats.skipped > 0 {
		return &exitError{code: exitSkipped, err: fmt.Errorf("%d malformed line(s) skipped", stats.skipped)}
	}
	return nil
}

// readInput reads one input file and hands its items to emit. It returns
// the bytes read.
func readInput(name string, format listings.Format, maxLine int, emit func(scanItem), progress func(int64)) (int64, error) {
	var r io.Reader
	if name == "-" {
		r = os.Stdin
		name = "<stdin>"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		r = f
	}
	counted := &listings.CountingReader{R: r}
	r = counted
	if strings.HasSuffix(strings.ToLower(name), ".gz") {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		defer gz.Close()
		r = gz
	}
	if format == "" {
		format = listings.FormatOf(name)
	}
	if format == listings.CSV {
		cr, err := listings.NewCSVReader(r, name)
		if err != nil {
			return counted.N, err
		}
		for i := 0; ; i++ {
			l := new(wildwarden.Listing)
			line, err := cr.Next(l)
			if err == io.EOF {
				return counted.N, nil
			}
			var le *listings.LineError
			switch {
			case errors.As(err, &le):
				emit(scanItem{file: name, line: line, err: err})
			case err != nil:
				return counted.N, fmt.Errorf("%s:%d: %w", name, line, err)
			default:
				emit(scanItem{file: name, line: line, l: l})
			}
			if i%1024 == 0 {
				progress(counted.N)
			}
		}
	}
	lr := listings.NewLineReader(r, name, maxLine)
	for i := 0; ; i++ {
		line, data, err := lr.Next()
		if err == io.EOF {
			progress(counted.N)
			return counted.N, nil
		}
		var le *listings.LineError
		switch {
		case errors.As(err, &le):
			emit(scanItem{file: name, line: line, err: err})
		case err != nil:
			return counted.N, err
		default:
			emit(scanItem{file: name, line: line, raw: bytes.Clone(data)})
		}
		if i%1024 == 0 {
			progress(counted.N)
		}
	}
}

// screenBatch decodes and screens a batch, writing its verdicts into the
// batch's buffer.
// Values of scan --signals.
const (
	signalsFlagged = "flagged"
	signalsAll     = "all"
)

func screenBatch(engine *screen.Engine, images *imageScan, b *scanBatch, format listings.Format) {
	b.stats = newStats()
	b.out.Grow(len(b.items) * 700)
	var line []byte
	var cw *csv.Writer
	if format == listings.CSV {
		cw = csv.NewWriter(&b.out)
	}
	var l wildwarden.Listing
	for i := range b.items {
		it := &b.items[i]
		err := it.err
		lp := it.l
		if err == nil && lp == nil {
			if derr := listings.DecodeJSONShared(it.raw, &l); derr != nil {
				err = fmt.Errorf("%s:%d: %w", it.file, it.line, derr)
			}
			lp = &l
		}
		if err != nil {
			b.stats.skipped++
			b.errs = append(b.errs, err.Error())
			continue
		}
		v := images.screen(engine, lp)
		b.stats.listings++
		b.stats.decisions[v.Decision]++
		for _, c := range v.Categories {
			if v.Decision != wildwarden.Allow {
				b.stats.categories[c]++
			}
		}
		if cw != nil {
			_ = cw.Write(verdictCSVRecord(v))
		} else {
			line = append(v.AppendJSON(line[:0]), '\n')
			b.out.Write(line)
		}
		it.raw, it.l = nil, nil
	}
	if cw != nil {
		cw.Flush()
	}
}

var verdictCSVHeader = []string{"id", "decision", "score", "categories", "species", "cites", "reason", "evidence", "kb_version", "model_version"}

func verdictCSVRecord(v *wildwarden.Verdict) []string {
	var species, cites, evidence []string
	for _, s := range v.Species {
		species = append(species, s.Name)
		cites = append(cites, s.CITES)
	}
	for _, s := range v.Signals {
		if s.Text != "" {
			evidence = append(evidence, fmt.Sprintf("%s:%s=%s", s.Name, s.Field, s.Text))
		}
	}
	return []string{v.ID, string(v.Decision), strconv.FormatFloat(v.Score, 'f', 3, 64),
		strings.Join(v.Categories, ";"), strings.Join(species, ";"), strings.Join(cites, ";"),
		v.Reason, strings.Join(evidence, " | "), v.KBVersion, v.ModelVersion}
}

// verdictWriter writes the output, with the CSV header first.
type verdictWriter struct {
	w   io.Writer
	buf []byte
}

func newVerdictWriter(w io.Writer, format listings.Format) *verdictWriter {
	vw := &verdictWriter{w: w}
	if format == listings.CSV {
		var b bytes.Buffer
		cw := csv.NewWriter(&b)
		_ = cw.Write(verdictCSVHeader)
		cw.Flush()
		vw.buf = append(vw.buf, b.Bytes()...)
	}
	return vw
}

func (vw *verdictWriter) write(p []byte) error {
	vw.buf = append(vw.buf, p...)
	if len(vw.buf) < 1<<20 {
		return nil
	}
	return vw.flush()
}

func (vw *verdictWriter) flush() error {
	if len(vw.buf) == 0 {
		return nil
	}
	_, err := vw.w.Write(vw.buf)
	vw.buf = vw.buf[:0]
	return err
}

func printSummary(w io.Writer, s *scanStats, n int64, elapsed time.Duration, workers int) {
	secs := max(elapsed.Seconds(), 1e-9)
	fmt.Fprintf(w, "scanned %d listings (%.1f MB) in %s with %d worker(s): %.1f MB/s, %.0f listings/s\n",
		s.listings, float64(n)/1e6, elapsed.Round(time.Millisecond), workers, float64(n)/1e6/secs, float64(s.listings)/secs)
	for _, d := range []wildwarden.Decision{wildwarden.Block, wildwarden.Review, wildwarden.Allow} {
		share := 0.0
		if s.listings > 0 {
			share = 100 * float64(s.decisions[d]) / float64(s.listings)
		}
		fmt.Fprintf(w, "  %-7s %9d  %5.1f%%\n", d, s.decisions[d], share)
	}
	if s.skipped > 0 {
		fmt.Fprintf(w, "  skipped %9d  malformed line(s), reported above\n", s.skipped)
	}
	if len(s.categories) > 0 {
		cats := make([]string, 0, len(s.categories))
		for c := range s.categories {
			cats = append(cats, c)
		}
		sort.Slice(cats, func(i, j int) bool {
			if s.categories[cats[i]] != s.categories[cats[j]] {
				return s.categories[cats[i]] > s.categories[cats[j]]
			}
			return cats[i] < cats[j]
		})
		var parts []string
		for _, c := range cats {
			parts = append(parts, fmt.Sprintf("%s %d", c, s.categories[c]))
		}
		fmt.Fprintf(w, "  flagged by category: %s\n", strings.Join(slices.Clip(parts), ", "))
	}
}
