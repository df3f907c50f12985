// Command wildwarden screens listings for illegal wildlife products: scan
// files, explain a verdict, and run the service.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// rootCmd is the top command. Each subcommand lives in its own file and adds
// itself in an init function, so commands can be added without touching
// this file.
var rootCmd = &cobra.Command{
	Use:           "wildwarden",
	Short:         "Find and stop the sale of illegal wildlife products",
	SilenceUsage:  true,
	SilenceErrors: true,
}

// exitError carries a process exit status through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func main() {
	err := rootCmd.Execute()
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "wildwarden:", err)
	if e, ok := err.(*exitError); ok {
		os.Exit(e.code)
	}
	os.Exit(1)
}
