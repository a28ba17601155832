package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// applyConfigFile sets the flags given neither on the command line nor in
// the environment from a file of "name = value" lines (flag names without
// dashes; # starts a comment; a repeatable flag may appear on many lines).
// Precedence: command line, then AUDITSHOT_* variables, then the file. An
// unknown name is an error that names the line.
func applyConfigFile(fs *flag.FlagSet, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// Set by now: given on the command line or by the environment.
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name, value = strings.TrimSpace(name), strings.Trim(strings.TrimSpace(value), `"`)
		switch {
		case !ok || name == "":
			return usageError{fmt.Sprintf("%s:%d: want name = value, got %q", path, n, line)}
		case name == "config":
			return usageError{fmt.Sprintf("%s:%d: a config file cannot name another", path, n)}
		case fs.Lookup(name) == nil:
			return usageError{fmt.Sprintf("%s:%d: unknown setting %q (the names are serve's flags, see auditshot serve -h)", path, n, name)}
		case given[name]:
			continue
		}
		if err := fs.Set(name, value); err != nil {
			return usageError{fmt.Sprintf("%s:%d: %s: %v", path, n, name, err)}
		}
	}
	if err := sc.Err(); err != nil {
		return errors.Join(fmt.Errorf("read %s", path), err)
	}
	return nil
}
