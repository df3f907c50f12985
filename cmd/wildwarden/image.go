package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/wildwarden/wildwarden/image/fetch"
	"github.com/wildwarden/wildwarden/image/pdq"
)

// imageHashRecord is one line of `wildwarden image hash --json`.
type imageHashRecord struct {
	File     string              `json:"file"`
	Hash     pdq.Hash            `json:"hash"`
	Quality  int                 `json:"quality"`
	Format   string              `json:"format"`
	Width    int                 `json:"width"`
	Height   int                 `json:"height"`
	Dihedral map[string]pdq.Hash `json:"dihedral,omitempty"`
}

func init() {
	imageCmd := &cobra.Command{
		Use:   "image",
		Short: "Work with listing photos: perceptual hashes",
	}
	var asJSON, dihedral bool
	hashCmd := &cobra.Command{
		Use:   "hash [--json] [--dihedral] FILE…",
		Short: "Print the PDQ hash and quality of images",
		Long: `Print the PDQ perceptual hash (64 hex digits, the reference's form) and
quality (0–100; below 50 is too flat to match) of each image, one line per
image: HASH<TAB>QUALITY<TAB>FILE. With --dihedral, print one line per
orientation (original, rotate90, …, flipminus1) with the orientation
appended. With --json, print one JSON object per image instead.

FILE can be a local path, a file://, http(s) or data: URL; images are
fetched and decoded with the same size, pixel and address limits as the
service. JPEG, PNG, GIF and WebP are read. A file that cannot be hashed is
reported on standard error and the others go on; the exit status is then 1.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fetcher := fetch.New(fetch.Config{AllowLocalFiles: true, CacheEntries: -1})
			return hashImages(cmd.Context(), fetcher, args, asJSON, dihedral, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	hashCmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per image")
	hashCmd.Flags().BoolVar(&dihedral, "dihedral", false, "also print the hashes of the 8 rotations and flips")
	imageCmd.AddCommand(hashCmd)
	rootCmd.AddCommand(imageCmd)
}

// hashImages hashes each file and writes one record per file (or per
// orientation), reporting failures on errOut and carrying on.
func hashImages(ctx context.Context, fetcher *fetch.Fetcher, files []string, asJSON, dihedral bool, out, errOut io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	encoder := json.NewEncoder(out)
	encoder.SetEscapeHTML(false)
	failed := 0
	for _, file := range files {
		img, err := fetcher.Fetch(ctx, file)
		if err != nil {
			fmt.Fprintln(errOut, "wildwarden: image hash:", err)
			failed++
			continue
		}
		hashes := pdq.HashDihedral(img.Image)
		record := imageHashRecord{File: file, Hash: hashes.Hashes[pdq.Original], Quality: hashes.Quality,
			Format: img.Format, Width: img.Width, Height: img.Height}
		if dihedral {
			record.Dihedral = make(map[string]pdq.Hash, len(pdq.Orientations))
			for _, o := range pdq.Orientations {
				record.Dihedral[o.String()] = hashes.Hashes[o]
			}
		}
		switch {
		case asJSON:
			err = encoder.Encode(record)
		case dihedral:
			for _, o := range pdq.Orientations {
				if _, err = fmt.Fprintf(out, "%s\t%d\t%s\t%s\n", hashes.Hashes[o], hashes.Quality, file, o); err != nil {
					break
				}
			}
		default:
			_, err = fmt.Fprintf(out, "%s\t%d\t%s\n", record.Hash, record.Quality, file)
		}
		if err != nil {
			return fmt.Errorf("image hash: write output: %w", err)
		}
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("image hash: %d of %d file(s) could not be hashed", failed, len(files))}
	}
	return nil
}
