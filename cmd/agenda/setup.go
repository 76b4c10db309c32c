package main

import (
	"context"
	"errors"
	"io"
)

// runSetup is wired to package setup once it lands.
func runSetup(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	return errors.New("setup: not yet available")
}
