package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/image/bank"
	"github.com/wildwarden/wildwarden/image/fetch"
	"github.com/wildwarden/wildwarden/image/inspect"
	"github.com/wildwarden/wildwarden/image/pdq"
)

// Bank commands work on the database directly, like admin. A running
// service picks up changes made here within its --sync-interval (package
// replica); changes made through its API take effect there at once.

// bankCLI holds the flags shared by the bank commands.
type bankCLI struct {
	db, tenant string
}

// open opens the store and returns the tenant's banks, loaded into memory
// and written through to the store.
func (c *bankCLI) open(cmd *cobra.Command, fn func(ctx context.Context, banks *bank.Persistent) error) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	s, err := openStore(ctx, c.db)
	if err != nil {
		return fmt.Errorf("bank: %w", err)
	}
	defer s.Close()
	ctx = wildwarden.WithActor(ctx, "cli:bank")
	t, err := resolveTenant(ctx, s, c.tenant)
	if err != nil {
		return err
	}
	banks, err := inspect.NewBanks(s).Tenant(ctx, t.ID)
	if err != nil {
		return err
	}
	return fn(ctx, banks)
}

func init() {
	c := &bankCLI{}
	cmd := &cobra.Command{
		Use:   "bank",
		Short: "Manage banks of photo hashes (PDQ) and match photos against them",
		Long: `Banks hold the PDQ hashes of photos: a deny bank holds photos of confirmed
illegal offers (a listing with a photo within the match radius of an entry
gets an image.bank_match signal), an allow bank holds photos that must never
match (stock photos). Banks belong to a tenant and live in the database;
every change is in the audit log.

FILE can be a local path, a file://, http(s) or data: URL.`,
		Example: `  wildwarden bank create trafficking-confirmed --description "photos of seized items"
  wildwarden bank create stock-photos --kind allow
  wildwarden bank add trafficking-confirmed --category pangolin --source case-17 seized1.jpg seized2.jpg
  wildwarden bank list
  wildwarden bank list trafficking-confirmed
  wildwarden bank match suspect.jpg
  wildwarden bank remove trafficking-confirmed pdq-3f9c2a71d04be6a5`,
	}
	cmd.PersistentFlags().StringVar(&c.db, "db", defaultDB, dbFlagHelp)
	cmd.PersistentFlags().StringVar(&c.tenant, "tenant", firstTenant, "tenant name or ID")

	var kind, description string
	create := &cobra.Command{
		Use: "create NAME", Short: "Create a bank", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.open(cmd, func(ctx context.Context, banks *bank.Persistent) error {
				_, err := banks.CreateBank(ctx, bank.Info{Name: args[0], Kind: bank.Kind(kind), Description: description, CreatedBy: wildwarden.Actor(ctx)}, wildwarden.Actor(ctx))
				if err != nil {
					return fmt.Errorf("bank create: %w", err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "created %s bank %s\n", kind, args[0])
				return nil
			})
		},
	}
	create.Flags().StringVar(&kind, "kind", string(bank.Deny), "deny (matches are evidence) or allow (matches suppress deny matches)")
	create.Flags().StringVar(&description, "description", "", "what the bank holds")

	deleteCmd := &cobra.Command{
		Use: "delete NAME", Short: "Delete a bank and all its entries", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.open(cmd, func(ctx context.Context, banks *bank.Persistent) error {
				if err := banks.DeleteBank(ctx, args[0], wildwarden.Actor(ctx)); err != nil {
					return fmt.Errorf("bank delete: %w", err)
				}
				return nil
			})
		},
	}

	var entry bank.Entry
	var entryID string
	add := &cobra.Command{
		Use:   "add BANK FILE…",
		Short: "Hash photos and add them to a bank; prints one entry ID per photo",
		Long: `Hash each photo and add it to the bank. The entry ID is --id (one photo
only) or "pdq-" and the first 16 hex digits of the hash, so adding the same
photo twice is refused. Photos of PDQ quality below 50 (flat, featureless)
are refused: their hashes collide too easily. --source defaults to the file.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if entryID != "" && len(args) > 2 {
				return fmt.Errorf("bank add: --id names one entry, but %d files were given", len(args)-1)
			}
			fetcher := fetch.New(fetch.Config{AllowLocalFiles: true, CacheEntries: -1})
			return c.open(cmd, func(ctx context.Context, banks *bank.Persistent) error {
				failed := 0
				for _, file := range args[1:] {
					id, err := addPhoto(ctx, banks, fetcher, args[0], file, entryID, entry)
					if err != nil {
						fmt.Fprintln(cmd.ErrOrStderr(), "wildwarden: bank add:", err)
						failed++
						continue
					}
					fmt.Fprintln(cmd.OutOrStdout(), id)
				}
				if failed > 0 {
					return &exitError{code: 1, err: fmt.Errorf("bank add: %d of %d photo(s) were not added", failed, len(args)-1)}
				}
				return nil
			})
		},
	}
	add.Flags().StringVar(&entryID, "id", "", "entry ID (default: pdq- and the hash's first 16 hex digits)")
	add.Flags().StringVar(&entry.Species, "species", "", "scientific name of the species shown, e.g. Manis javanica")
	add.Flags().StringVar(&entry.Category, "category", "", "knowledge-base category, e.g. ivory, pangolin")
	add.Flags().StringVar(&entry.Source, "source", "", "where the photo was seen: a listing ID, URL or case (default: the file)")
	add.Flags().StringVar(&entry.Note, "note", "", "a note for reviewers")

	remove := &cobra.Command{
		Use: "remove BANK ID…", Short: "Remove entries from a bank", Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.open(cmd, func(ctx context.Context, banks *bank.Persistent) error {
				for _, id := range args[1:] {
					if _, err := banks.RemoveEntry(ctx, args[0], id, wildwarden.Actor(ctx)); err != nil {
						return fmt.Errorf("bank remove: %w", err)
					}
				}
				return nil
			})
		},
	}

	list := &cobra.Command{
		Use: "list [BANK]", Short: "List the banks, or the entries of one bank", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.open(cmd, func(ctx context.Context, banks *bank.Persistent) error {
				if len(args) == 0 {
					return printBanks(cmd.OutOrStdout(), banks.Set)
				}
				b, err := banks.Set.Bank(args[0])
				if err != nil {
					return fmt.Errorf("bank list: %w", err)
				}
				return printEntries(cmd.OutOrStdout(), b.Entries())
			})
		},
	}

	var radius int
	var asJSON bool
	match := &cobra.Command{
		Use:   "match FILE…",
		Short: "Match photos against the tenant's banks",
		Long: `Hash each photo in its 8 orientations and print the bank entries within
--radius bits: FILE, BANK, KIND, ENTRY, DISTANCE, one line per match ("-"
when none). A photo in an allow bank matches no deny bank. With --json,
print one object per photo instead.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fetcher := fetch.New(fetch.Config{AllowLocalFiles: true, CacheEntries: -1})
			return c.open(cmd, func(ctx context.Context, banks *bank.Persistent) error {
				return matchPhotos(ctx, banks.Set, fetcher, args, radius, asJSON, cmd.OutOrStdout(), cmd.ErrOrStderr())
			})
		},
	}
	match.Flags().IntVar(&radius, "radius", bank.DefaultRadius, "largest Hamming distance (bits of 256) that matches")
	match.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per photo")

	cmd.AddCommand(create, deleteCmd, add, remove, list, match)
	rootCmd.AddCommand(cmd)
}

// addPhoto hashes one photo and adds it to a bank; it returns the entry ID.
func addPhoto(ctx context.Context, banks *bank.Persistent, fetcher *fetch.Fetcher, bankName, file, id string, template bank.Entry) (string, error) {
	img, err := fetcher.Fetch(ctx, file)
	if err != nil {
		return "", err
	}
	h := pdq.HashImage(img.Image)
	e := template
	e.ID, e.Hash, e.Quality = id, h.Hash, h.Quality
	if e.ID == "" {
		e.ID = "pdq-" + h.Hash.String()[:16]
	}
	if e.Source == "" {
		e.Source = inspect.ShortRef(file)
	}
	e.AddedBy = wildwarden.Actor(ctx)
	if err := banks.AddEntry(ctx, bankName, e, e.AddedBy); err != nil {
		return "", fmt.Errorf("%s: %w", inspect.ShortRef(file), err)
	}
	return e.ID, nil
}

func printBanks(out io.Writer, set *bank.Set) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tKIND\tENTRIES\tCREATED\tDESCRIPTION")
	for _, b := range set.Banks() {
		info := b.Info()
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", info.Name, info.Kind, b.Len(), info.CreatedAt.Format("2006-01-02 15:04:05Z"), info.Description)
	}
	return w.Flush()
}

func printEntries(out io.Writer, entries []bank.Entry) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tHASH\tQUALITY\tCATEGORY\tSPECIES\tSOURCE\tADDED BY\tADDED")
	for _, e := range entries {
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Hash, e.Quality, e.Category, e.Species, e.Source, e.AddedBy, e.AddedAt.Format("2006-01-02 15:04:05Z"))
	}
	return w.Flush()
}

// bankMatchRecord is one line of `wildwarden bank match --json`.
type bankMatchRecord struct {
	File    string       `json:"file"`
	Hash    pdq.Hash     `json:"hash"`
	Quality int          `json:"quality"`
	Outcome bank.Outcome `json:"outcome"`
}

// matchPhotos matches each photo and prints its matches, reporting photos
// that cannot be read on errOut; the exit status is then 1.
func matchPhotos(ctx context.Context, set *bank.Set, fetcher *fetch.Fetcher, files []string, radius int, asJSON bool, out, errOut io.Writer) error {
	encoder := json.NewEncoder(out)
	encoder.SetEscapeHTML(false)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	if !asJSON {
		fmt.Fprintln(w, "FILE\tBANK\tKIND\tENTRY\tDISTANCE")
	}
	failed := 0
	for _, file := range files {
		img, err := fetcher.Fetch(ctx, file)
		if err != nil {
			fmt.Fprintln(errOut, "wildwarden: bank match:", err)
			failed++
			continue
		}
		hashes := pdq.HashDihedral(img.Image)
		outcome := inspect.MatchDihedral(set, hashes, radius)
		if asJSON {
			if err := encoder.Encode(bankMatchRecord{File: file, Hash: hashes.Hashes[pdq.Original], Quality: hashes.Quality, Outcome: outcome}); err != nil {
				return fmt.Errorf("bank match: write output: %w", err)
			}
			continue
		}
		all := append(append([]bank.Match{}, outcome.Matches...), outcome.Allowed...)
		if len(all) == 0 {
			reason := "-"
			if outcome.LowQuality {
				reason = fmt.Sprintf("- (quality %d is below %d: not matched)", hashes.Quality, bank.MinQuality)
			}
			fmt.Fprintf(w, "%s\t%s\t\t\t\n", inspect.ShortRef(file), reason)
		}
		for _, m := range all {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\n", inspect.ShortRef(file), m.Bank, m.Kind, m.Entry.ID, m.Distance)
		}
	}
	if !asJSON {
		if err := w.Flush(); err != nil {
			return fmt.Errorf("bank match: write output: %w", err)
		}
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("bank match: %d of %d photo(s) could not be read", failed, len(files))}
	}
	return nil
}
