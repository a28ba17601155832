// Command demoapp serves "Acme Payments", a demo admin console that stands
// in for the business application an AI agent operates, so example agents
// can be driven against it and auditshot can capture evidence of what they
// did. See README.md for the routes, the element ids and the demo users.
//
//	go run ./examples/demoapp --addr 127.0.0.1:8090
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/auditshot/auditshot/examples/demoapp/app"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "demoapp:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("demoapp", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on")
	settle := fs.Duration("settle-after", app.DefaultSettleAfter, "time after which a pending refund completes by itself; negative: only #approve completes it")
	step := fs.Duration("validation-step", app.DefaultValidationStep, "duration of each data-validation check; negative: instant")
	open := fs.Bool("demo-open", false, "no login, every request acts as alice (for screenshots only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	a := app.New(app.Config{SettleAfter: *settle, ValidationStep: *step, Open: *open, Logger: log})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	log.Info("Acme Payments demo listening", "url", "http://"+ln.Addr().String()+"/login", "open", *open)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
