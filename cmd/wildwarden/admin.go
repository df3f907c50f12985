package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wildwarden/wildwarden"
	wwhttp "github.com/wildwarden/wildwarden/http"
)

// Admin commands work on the database directly, a SQLite file or a
// PostgreSQL URL (also while the service runs: SQLite serializes the
// writes, PostgreSQL's transactions isolate them). Each prints what a script
// needs on standard output (an ID or a key) and explanations on standard
// error.

func init() {
	var db string
	admin := &cobra.Command{
		Use:   "admin",
		Short: "Manage tenants, API keys and reviewers; export reviewers' decisions",
		Example: `  wildwarden admin tenant create shop-a
  KEY=$(wildwarden admin key create --tenant shop-a --role platform)
  wildwarden admin reviewer create --tenant shop-a alice`,
	}
	admin.PersistentFlags().StringVar(&db, "db", defaultDB, dbFlagHelp)

	withStore := func(cmd *cobra.Command, fn func(ctx context.Context, s wildwarden.Store) error) error {
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		s, err := openStore(ctx, db)
		if err != nil {
			return fmt.Errorf("admin: %w", err)
		}
		defer s.Close()
		return fn(wildwarden.WithActor(ctx, "cli:admin"), s)
	}

	tenant := &cobra.Command{Use: "tenant", Short: "Create and list tenants (platforms)"}
	tenant.AddCommand(&cobra.Command{
		Use: "create NAME", Short: "Create a tenant; prints its ID", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, func(ctx context.Context, s wildwarden.Store) error {
				t := &wildwarden.Tenant{Name: args[0]}
				if err := s.CreateTenant(ctx, t); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), t.ID)
				fmt.Fprintf(cmd.ErrOrStderr(), "created tenant %q; now create its keys with: wildwarden admin key create --db %s --tenant %s --role platform\n", t.Name, redactDSN(db), t.Name)
				return nil
			})
		},
	}, &cobra.Command{
		Use: "list", Short: "List tenants", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, func(ctx context.Context, s wildwarden.Store) error {
				ts, err := s.Tenants(ctx)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tNAME\tCREATED")
				for _, t := range ts {
					fmt.Fprintf(w, "%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.Format("2006-01-02 15:04:05Z"))
				}
				return w.Flush()
			})
		},
	})

	var tenantRef, role, name string
	key := &cobra.Command{Use: "key", Short: "Create, list and revoke API keys"}
	create := &cobra.Command{
		Use: "create", Short: "Create an API key; prints the key once", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, func(ctx context.Context, s wildwarden.Store) error {
				t, err := resolveTenant(ctx, s, tenantRef)
				if err != nil {
					return err
				}
				secret, k, err := wwhttp.IssueKey(ctx, s, t.ID, role, "", name)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), secret)
				fmt.Fprintf(cmd.ErrOrStderr(), "created %s key %s for tenant %q; it is shown only now\n", k.Role, k.ID, t.Name)
				return nil
			})
		},
	}
	create.Flags().StringVar(&tenantRef, "tenant", firstTenant, "tenant name or ID")
	create.Flags().StringVar(&role, "role", wildwarden.RolePlatform, "role: platform, reviewer or admin")
	create.Flags().StringVar(&name, "name", "", "a label for the key")
	list := &cobra.Command{
		Use: "list", Short: "List a tenant's keys", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, func(ctx context.Context, s wildwarden.Store) error {
				t, err := resolveTenant(ctx, s, tenantRef)
				if err != nil {
					return err
				}
				keys, err := s.Keys(ctx, t.ID)
				if err != nil {
					return err
				}
				return printKeys(cmd.OutOrStdout(), keys)
			})
		},
	}
	list.Flags().StringVar(&tenantRef, "tenant", firstTenant, "tenant name or ID")
	revoke := &cobra.Command{
		Use: "revoke KEY-ID", Short: "Revoke a key (it stops working within seconds)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, func(ctx context.Context, s wildwarden.Store) error {
				t, err := resolveTenant(ctx, s, tenantRef)
				if err != nil {
					return err
				}
				if err := s.RevokeKey(ctx, t.ID, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "revoked key %s\n", args[0])
				return nil
			})
		},
	}
	revoke.Flags().StringVar(&tenantRef, "tenant", firstTenant, "tenant name or ID")
	key.AddCommand(create, list, revoke)

	reviewer := &cobra.Command{Use: "reviewer", Short: "Create reviewers and set their console passwords"}
	var withPassword, asAdmin bool
	reviewerCreate := &cobra.Command{
		Use: "create NAME", Short: "Create a reviewer and their API key; prints the key once", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, func(ctx context.Context, s wildwarden.Store) error {
				t, err := resolveTenant(ctx, s, tenantRef)
				if err != nil {
					return err
				}
				u := &wildwarden.User{TenantID: t.ID, Name: args[0], Role: wildwarden.RoleReviewer}
				if asAdmin {
					u.Role = wildwarden.RoleAdmin
				}
				if err := s.CreateUser(ctx, u); err != nil {
					return err
				}
				if withPassword {
					if err := setConsolePassword(ctx, cmd, s, u); err != nil {
						return err
					}
				}
				secret, _, err := wwhttp.IssueKey(ctx, s, t.ID, u.Role, u.ID, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), secret)
				fmt.Fprintf(cmd.ErrOrStderr(), "created reviewer %q (%s) in tenant %q; the key is shown only now\n", u.Name, u.ID, t.Name)
				return nil
			})
		},
	}
	reviewerCreate.Flags().StringVar(&tenantRef, "tenant", firstTenant, "tenant name or ID")
	reviewerCreate.Flags().BoolVar(&withPassword, "password", false, "also set a review-console password (prompted on a terminal, else the first line of standard input)")
	reviewerCreate.Flags().BoolVar(&asAdmin, "admin", false, "make the user an admin (may add to the knowledge base in the console)")
	reviewerPassword := &cobra.Command{
		Use: "password NAME", Short: "Set a reviewer's review-console password (prompted, or the first line of standard input); signs out their sessions", Args: cobra.ExactArgs(1),
		Example: `  wildwarden admin reviewer password alice
  printf '%s\n' "$PASSWORD" | wildwarden admin reviewer password --tenant shop-a alice`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, func(ctx context.Context, s wildwarden.Store) error {
				t, err := resolveTenant(ctx, s, tenantRef)
				if err != nil {
					return err
				}
				u, err := findUser(ctx, s, t.ID, args[0])
				if err != nil {
					return err
				}
				return setConsolePassword(ctx, cmd, s, u)
			})
		},
	}
	reviewerPassword.Flags().StringVar(&tenantRef, "tenant", firstTenant, "tenant name or ID")
	reviewer.AddCommand(reviewerCreate, reviewerPassword)

	admin.AddCommand(tenant, key, reviewer, exportDecisionsCommand(&db))
	rootCmd.AddCommand(admin)
}

// resolveTenant finds a tenant by name or ID.
func resolveTenant(ctx context.Context, s wildwarden.Store, ref string) (*wildwarden.Tenant, error) {
	ts, err := s.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if t.ID == ref || t.Name == ref {
			return &t, nil
		}
	}
	return nil, fmt.Errorf("admin: no tenant named %q (see wildwarden admin tenant list)", ref)
}

func printKeys(out io.Writer, keys []wildwarden.APIKey) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tROLE\tPREFIX\tUSER\tNAME\tCREATED\tREVOKED")
	for _, k := range keys {
		revoked := "-"
		if k.RevokedAt != nil {
			revoked = k.RevokedAt.Format("2006-01-02 15:04:05Z")
		}
		fmt.Fprintf(w, "%s\t%s\t%s…\t%s\t%s\t%s\t%s\n", k.ID, k.Role, k.Prefix, k.UserID, k.Name, k.CreatedAt.Format("2006-01-02 15:04:05Z"), revoked)
	}
	return w.Flush()
}
