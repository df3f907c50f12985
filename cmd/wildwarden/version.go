package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func init() {
	var ef engineFlags
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the program, knowledge-base and model versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			engine, err := ef.engine()
			if err != nil {
				return err
			}
			kbVersion, modelVersion := engine.Versions()
			v := version
			if info, ok := debug.ReadBuildInfo(); ok && v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
				v = info.Main.Version
			}
			k := engine.KB()
			folded, pinyin := engine.Detector().Patterns()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "wildwarden %s\n", v)
			fmt.Fprintf(out, "knowledge base %s: %d categories, %d taxa, %d terms, %d cues (%d folded and %d pinyin patterns)\n",
				kbVersion, len(k.Categories), len(k.Taxa), len(k.Terms), len(k.Cues), folded, pinyin)
			fmt.Fprintf(out, "model %s\n", modelVersion)
			return nil
		},
	}
	ef.register(cmd)
	rootCmd.AddCommand(cmd)
}
