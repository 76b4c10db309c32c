package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/agenda-gpt/agenda/config"
	"github.com/agenda-gpt/agenda/setup"
)

// runSetup prints what goes into the GPT editor and checks the settings
// against the live identity provider; it fails when something stops the GPT
// from working.
func runSetup(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("settings:\n%w", err)
	}
	if !setup.Run(ctx, cfg, getenv, nil, stdout) {
		return errors.New("setup found problems that stop the GPT from working (see PROBLEM above)")
	}
	return nil
}
