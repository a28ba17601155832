package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/auditshot/auditshot/ledger"
)

// Files of the log's signing key in the data directory.
const (
	logKeyFile = "log.key" // the signer key, mode 0600
	logPubFile = "log.pub" // the verifier key, for auditors
)

// loadOrCreateLogKey returns the signing key kept in dir, creating it
// (mode 0600, with its verifier key beside it) on first use. A key file
// that others can read is refused: it signs the evidence.
func loadOrCreateLogKey(dir, name string) (skey, vkey string, created bool, err error) {
	path := filepath.Join(dir, logKeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		st, err := os.Stat(path)
		if err != nil {
			return "", "", false, err
		}
		if st.Mode().Perm()&0o077 != 0 {
			return "", "", false, fmt.Errorf("%s is readable by others (mode %#o): run chmod 600 %s", path, st.Mode().Perm(), path)
		}
		skey = strings.TrimSpace(string(b))
		if _, err := ledger.NewSigner(skey); err != nil {
			return "", "", false, fmt.Errorf("%s is not a signing key: %w", path, err)
		}
		pub, err := os.ReadFile(filepath.Join(dir, logPubFile))
		if err != nil {
			return "", "", false, fmt.Errorf("the verifier key beside %s: %w", path, err)
		}
		return skey, strings.TrimSpace(string(pub)), false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", "", false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", false, err
	}
	if skey, vkey, err = ledger.GenerateKey(name); err != nil {
		return "", "", false, err
	}
	if err := writeFileAtomic(filepath.Join(dir, logPubFile), []byte(vkey+"\n")); err != nil {
		return "", "", false, err
	}
	// O_EXCL: two processes starting at once must not both create a key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", "", false, err
	}
	if _, err := f.WriteString(skey + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return "", "", false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return "", "", false, err
	}
	return skey, vkey, true, f.Close()
}

// runLogKey prints the log's verifier key and its fingerprint, creating
// the signing key on first use: `auditshot log-key [--data DIR]`. Give
// auditors the verifier key out of band; they pass it to `auditshot
// verify --key`.
func runLogKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("log-key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var df dataFlags
	df.register(fs)
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if err := applyEnv(fs); err != nil {
		return err
	}
	_, vkey, created, err := loadOrCreateLogKey(df.dir, df.name)
	if err != nil {
		return err
	}
	fp, err := ledger.KeyFingerprint(vkey)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stderr, "created a new signing key in %s (mode 0600)\n", filepath.Join(df.dir, logKeyFile))
	}
	fmt.Fprintf(stdout, "verifier key: %s\nfingerprint:  %s\n", vkey, fp)
	return nil
}
