// Command auditshot captures visual, tamper-evident evidence of what AI
// agents did. Subcommands:
//
//	auditshot serve [--addr A] [--data DIR] start the service (REST API under /v1)
//	auditshot tenants create|list|show|set  manage tenants in the data directory
//	auditshot keys create|list|revoke       manage API keys in the data directory
//	auditshot capture URL -o FILE [flags]   capture a page without a server
//	auditshot sequence FLOW.json -o DIR     run a browser flow, writing its evidence
//	auditshot demo                          capture a built-in demo page
//	auditshot verify BUNDLE [--key VKEY]    verify an evidence bundle offline
//	auditshot log-key [--data DIR]          print the log's verifier key (created on first use)
//	auditshot export --tenant T --run ID -o FILE   export an evidence bundle
//	auditshot anchor --tenant T --tsa URL   timestamp the latest checkpoint (RFC 3161)
//	auditshot version                       print the version
//
// Every flag can also be set with an AUDITSHOT_* environment variable
// (AUDITSHOT_CHROMIUM for --chromium, and so on).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/auditshot/auditshot"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs the command line args and returns the exit code: 0 on success,
// 1 on failure, 2 for bad usage.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	var err error
	switch args[0] {
	case "capture":
		err = runCapture(ctx, args[1:], stdout, stderr)
	case "sequence":
		err = runSequence(ctx, args[1:], stdout, stderr)
	case "demo":
		err = runDemo(ctx, args[1:], stdout, stderr)
	case "verify":
		err = runVerify(ctx, args[1:], stdout, stderr)
	case "export":
		err = runExport(ctx, args[1:], stdout, stderr)
	case "anchor":
		err = runAnchor(ctx, args[1:], stdout, stderr)
	case "serve":
		err = runServe(ctx, args[1:], stdout, stderr)
	case "tenants":
		err = runTenants(ctx, args[1:], stdout, stderr)
	case "keys":
		err = runKeys(ctx, args[1:], stdout, stderr)
	case "log-key":
		err = runLogKey(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "auditshot", Version)
	case "help", "-h", "--help":
		usage(stdout)
	default:
		fmt.Fprintf(stderr, "auditshot: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, errFlowFailed) {
		return 1
	}
	if errors.Is(err, errVerifyFailed) {
		fmt.Fprintln(stderr, "auditshot:", err)
		return 1
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "auditshot:", ue.msg)
		return 2
	}
	fmt.Fprintln(stderr, "auditshot:", userMessage(err))
	return 1
}

// userMessage is the text shown for err: the caller-safe message of an
// application error, or the error itself for everything the CLI's own user
// should see in full.
func userMessage(err error) string {
	var ae *auditshot.Error
	if errors.As(err, &ae) {
		if ae.Code == auditshot.EINTERNAL || ae.Code == auditshot.EUNAVAILABLE {
			if ae.Err != nil {
				return ae.Message + ": " + ae.Err.Error()
			}
		}
		return ae.Message
	}
	return err.Error()
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: auditshot <command> [flags]

commands:
  serve                 start the service: REST API, jobs, webhooks (see 'auditshot serve -h')
  tenants               create, list, show or change tenants (create|list|show|set)
  keys                  create, list or revoke API keys (create|list|revoke)
  serve                 start the service: REST API, jobs, webhooks (see 'auditshot serve -h')
  tenants               create, list, show or change tenants (create|list|show|set)
  keys                  create, list or revoke API keys (create|list|revoke)
  capture URL -o FILE   capture a page (see 'auditshot capture -h')
  sequence FLOW.json -o DIR   run a browser flow (steps, optional video) and write its evidence
  demo                  serve a demo page on 127.0.0.1 and capture it
  verify BUNDLE         verify an evidence bundle offline (--key VKEY)
  log-key               print the log's verifier key, creating the signing key on first use
  export                write an evidence bundle of runs or a log range (--tenant, --run/--range, -o)
  anchor                timestamp a tenant's latest checkpoint at an RFC 3161 TSA (--tenant, --tsa)
  version               print the version
`)
}

func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// parseWithArg parses a command's flags with its one positional argument
// (a URL, a file) allowed before or after them, and returns the argument
// ("" if none). More than one is a usage error.
func parseWithArg(fs *flag.FlagSet, args []string) (string, error) {
	var rest []string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		rest, args = args[:1], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", usageError{err.Error()}
	}
	rest = append(rest, fs.Args()...)
	switch len(rest) {
	case 0:
		return "", nil
	case 1:
		return rest[0], nil
	}
	return "", usageError{fmt.Sprintf("%s: one argument expected, got %q", fs.Name(), rest)}
}
