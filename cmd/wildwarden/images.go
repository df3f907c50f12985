package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/image/bank"
	"github.com/wildwarden/wildwarden/image/fetch"
	"github.com/wildwarden/wildwarden/image/inspect"
	"github.com/wildwarden/wildwarden/image/ocr"
	"github.com/wildwarden/wildwarden/screen"
)

// imageFlags are the flags of the commands that read listings' images
// (serve, worker, scan): whether to read them, OCR, and the fetcher's limits.
type imageFlags struct {
	enabled   bool
	ocr       bool
	languages string
	timeout   time.Duration
	maxBytes  int64
	// scan only: where the banks are.
	db, tenant string
}

func (f *imageFlags) register(cmd *cobra.Command, defaultOn bool) {
	cmd.Flags().BoolVar(&f.enabled, "images", defaultOn, "read listings' images: match them against the image banks and read their text (OCR)")
	cmd.Flags().BoolVar(&f.ocr, "ocr", true, "with --images, read text in images with Tesseract when it is installed")
	cmd.Flags().StringVar(&f.languages, "ocr-languages", ocr.DefaultLanguages, "Tesseract languages")
	cmd.Flags().DurationVar(&f.timeout, "image-timeout", fetch.DefaultTimeout, "time to fetch one image")
	cmd.Flags().Int64Var(&f.maxBytes, "image-max-bytes", fetch.DefaultMaxBytes, "largest image file in bytes")
}

// inspector builds the image reader, or nil when images are off. The
// service passes allowLocal false: listings must not make it read its own
// disk. It logs one line saying whether OCR is on, and why not.
func (f *imageFlags) inspector(allowLocal bool, log *slog.Logger) (*inspect.Inspector, error) {
	if !f.enabled {
		return nil, nil
	}
	var engine *ocr.Engine
	if f.ocr {
		engine = ocr.New(ocr.Config{Languages: f.languages})
		if engine.Available() {
			log.Info(engine.Status())
		} else {
			log.Warn(engine.Status())
		}
	} else {
		log.Info("ocr: off (--ocr=false)")
	}
	fetcher := fetch.New(fetch.Config{AllowLocalFiles: allowLocal, Timeout: f.timeout, MaxBytes: f.maxBytes})
	in, err := inspect.New(inspect.Config{Fetcher: fetcher, OCR: engine})
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	return in, nil
}

// loadBanks loads every tenant's image banks at the service's start, so
// the first screening does not wait for them, and logs their size.
func loadBanks(ctx context.Context, store wildwarden.Store, log *slog.Logger) (*inspect.Banks, error) {
	tenants, err := store.Tenants(ctx)
	if err != nil {
		return nil, fmt.Errorf("image banks: %w", err)
	}
	ids := make([]string, len(tenants))
	for i, t := range tenants {
		ids[i] = t.ID
	}
	banks := inspect.NewBanks(store)
	n, entries, err := banks.LoadAll(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("image banks: %w", err)
	}
	log.Info("image banks loaded", "banks", n, "entries", entries, "tenants", len(ids))
	return banks, nil
}

// workerScreener returns what the stream worker screens with, as serve
// does: with images off, the engine alone; else the engine with each
// listing's images read (never local files) and matched against its
// tenant's banks, all loaded now. It returns the banks to keep in step
// with the store, nil when images are off.
func (f *imageFlags) workerScreener(ctx context.Context, store wildwarden.Store, engine *screen.Reloadable, log *slog.Logger) (wildwarden.Screener, *inspect.Banks, error) {
	in, err := f.inspector(false, log) // logs whether OCR is on
	if err != nil {
		return nil, nil, err
	}
	if in == nil {
		return engine, nil, nil
	}
	banks, err := loadBanks(ctx, store, log)
	if err != nil {
		return nil, nil, err
	}
	screener := &inspect.TenantScreener{Screener: &inspect.Screener{Engine: engine, Inspector: in}, Banks: banks, Logger: log}
	return screener, banks, nil
}

// imageScan screens scanned listings with their images: local files are
// allowed, and banks come from --db when given.
type imageScan struct {
	screener *inspect.Screener
	banks    *bank.Set
	log      *slog.Logger
}

// newImageScan builds the scan's image reader, or nil when --images is off.
// It logs to the command's standard error.
func (f *imageFlags) newImageScan(cmd *cobra.Command, engine *screen.Engine) (*imageScan, error) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	in, err := f.inspector(true, log)
	if in == nil || err != nil {
		return nil, err
	}
	s := &imageScan{screener: &inspect.Screener{Engine: engine, Inspector: in}, log: log}
	if f.db == "" {
		return s, nil
	}
	store, err := openStore(ctx, f.db)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	t, err := resolveTenant(ctx, store, f.tenant)
	if err != nil {
		return nil, err
	}
	if s.banks, err = inspect.NewBanks(store).Set(ctx, t.ID); err != nil {
		return nil, err
	}
	return s, nil
}

// screen screens one listing, with its images when s is not nil. An
// image that cannot be read leaves the listing screened without it.
func (s *imageScan) screen(engine *screen.Engine, l *wildwarden.Listing) *wildwarden.Verdict {
	if s == nil || len(l.Images) == 0 {
		return engine.ScreenListing(l)
	}
	v, report, err := s.screener.Screen(context.Background(), l, s.banks)
	if err != nil { // only for a nil listing or a cancelled context
		return engine.ScreenListing(l)
	}
	for _, im := range report.Images {
		if im.Err != "" || im.OCRErr != "" {
			s.log.Warn("image not read", "listing", l.ID, "image", im.Index, "err", im.Err, "ocr_err", im.OCRErr)
		}
	}
	return v
}
