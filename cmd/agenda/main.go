// Command agenda serves the agenda: the API a custom GPT calls as its
// action, the live web UI, and the tools that set them up. It is the only
// package that knows every other one; it reads the settings and wires them.
//
//	agenda [serve]        run the server (the default)
//	agenda setup          print what to paste into the GPT editor, and check the settings
//	agenda token USER     sign in to the development identity provider and print an access token
//	agenda healthcheck    exit 0 when the local server answers /healthz (for Docker)
//	agenda migrate        copy a SQLite database into PostgreSQL (safe to re-run)
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "agenda:", err)
		os.Exit(1)
	}
}

// run is the whole program, callable from tests: ctx ends it, getenv gives
// the settings.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 1 {
		cmd, args = args[1], args[2:]
	} else {
		args = nil
	}
	switch cmd {
	case "serve":
		return runServe(ctx, getenv, stderr)
	case "setup":
		return runSetup(ctx, getenv, stdout)
	case "token":
		return runToken(ctx, args, getenv, stdout)
	case "healthcheck":
		return runHealthcheck(ctx, getenv)
	case "migrate":
		return runMigrate(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

const usage = `usage: agenda [command]

  serve        run the server (the default)
  setup        print what to paste into the GPT editor, and check the settings
  token USER   sign in to the development identity provider as USER and print an access token
  healthcheck  exit 0 when the local server answers /healthz
  migrate -from FILE [-to URL]
               copy a SQLite database into PostgreSQL (-to defaults to DATABASE_URL); safe to re-run

Settings come from the environment; see README.md.
`
