package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/wildwarden/wildwarden"
	"github.com/wildwarden/wildwarden/console"
)

// readPassword reads a console password: with a prompt (twice, not echoed)
// on a terminal, else the first line of standard input, so scripts can
// pipe it in without it showing in the process list.
func readPassword(cmd *cobra.Command) (string, error) {
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(cmd.ErrOrStderr(), "Password: ")
		first, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("admin: read password: %w", err)
		}
		fmt.Fprint(cmd.ErrOrStderr(), "Again: ")
		second, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("admin: read password: %w", err)
		}
		if string(first) != string(second) {
			return "", fmt.Errorf("admin: the passwords differ")
		}
		return string(first), nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("admin: read password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// setConsolePassword hashes a password (argon2id) and stores it for a
// user's console sign-in.
func setConsolePassword(ctx context.Context, cmd *cobra.Command, s wildwarden.Store, u *wildwarden.User) error {
	password, err := readPassword(cmd)
	if err != nil {
		return err
	}
	hash, err := console.HashPassword(password)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	if err := s.SetPassword(ctx, u.TenantID, u.ID, hash); err != nil {
		return fmt.Errorf("admin: set password of %s: %w", u.Name, err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s may now sign in to the review console\n", u.Name)
	return nil
}

// findUser finds a tenant's user by name.
func findUser(ctx context.Context, s wildwarden.Store, tenantID, name string) (*wildwarden.User, error) {
	users, err := s.Users(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	for i := range users {
		if users[i].Name == name {
			return &users[i], nil
		}
	}
	return nil, fmt.Errorf("admin: no user named %q in this tenant", name)
}
