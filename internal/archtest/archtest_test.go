package archtest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// root is the key of the root package (the domain, `auditshot`) in allowed.
const root = "."

// adapter is what an adapter may import: the domain, the log math, the
// bundle format and RFC 3161 tokens, never another adapter.
var adapter = []string{root, "ledger", "bundle", "rfc3161", "visualdiff"}

// allowed lists, for each package of the module by its path relative to the
// module root, the project packages its non-test files may import. Packages
// under cmd/ and internal/ may import anything. A new package must be added
// here.
var allowed = map[string][]string{
	root:     {},
	"ledger": {root},
	"bundle": {root, "ledger", "rfc3161"},
	// rfc3161 is a pure library (RFC 3161 tokens), like ledger: the store
	// requests tokens with it and the bundle verifier checks them.
	"rfc3161":             {root},
	"rfc3161/rfc3161test": {root, "rfc3161"},
	// visualdiff is pure image math (before/after diffs, perceptual
	// hashes), like ledger: no I/O.
	"visualdiff": {root},

	"chromium": adapter,
	"egress":   adapter,
	"video":    adapter,
	"sqlite":   adapter,
	"postgres": adapter,
	"file":     adapter,
	"s3":       adapter,
	"httpapi":  adapter,
	"client":   adapter,
	"mcp":      adapter,

	// The demo app stands in for a customer's business app: it uses no
	// auditshot package.
	"examples/demoapp":     {"examples/demoapp/app"},
	"examples/demoapp/app": {},
	// The example agents and the demo are customers' code: they reach
	// auditshot through the SDK (client) and its domain types only.
	"examples/agents/internal/scenario": {root, "client"},
	"examples/agents/internal/agentcmd": {"client", "examples/agents/internal/scenario"},
	"examples/agents/refund":            {"examples/agents/internal/agentcmd", "examples/agents/internal/scenario"},
	"examples/agents/access":            {"examples/agents/internal/agentcmd", "examples/agents/internal/scenario"},
	"examples/agents/validation":        {"examples/agents/internal/agentcmd", "examples/agents/internal/scenario"},
	"examples/demo":                     {root, "client"},
}

// anything holds the path prefixes whose packages may import any project
// package.
var anything = []string{"cmd/", "internal/"}

// pkg is the part of `go list -json` output the tests read.
type pkg struct {
	Dir        string
	ImportPath string
	Name       string
	Doc        string
	GoFiles    []string
	CgoFiles   []string
	Imports    []string
	Error      *struct{ Err string }
}

func TestPackageDoc(t *testing.T) {
	_, pkgs := listPackages(t)
	for _, p := range pkgs {
		if len(p.GoFiles)+len(p.CgoFiles) == 0 {
			continue // test-only package
		}
		switch {
		case p.Doc == "":
			t.Errorf("%s has no package doc comment: add one (in doc.go or the main file) above the package clause", p.ImportPath)
		case p.Name != "main" && !strings.HasPrefix(p.Doc, "Package "+p.Name+" "):
			t.Errorf("%s: package doc comment should begin %q, got %q", p.ImportPath, "Package "+p.Name+" ", p.Doc)
		}
	}
}

func TestImportDirection(t *testing.T) {
	module, pkgs := listPackages(t)
	rel := func(path string) (string, bool) {
		if path == module {
			return root, true
		}
		r, ok := strings.CutPrefix(path, module+"/")
		return r, ok
	}
	for _, p := range pkgs {
		from, _ := rel(p.ImportPath)
		if slices.ContainsFunc(anything, func(prefix string) bool { return strings.HasPrefix(from, prefix) }) {
			continue
		}
		ok, known := allowed[from]
		if !known {
			t.Errorf("package %s is not in the import table: add %q to allowed in internal/archtest/archtest_test.go with the project packages it may import (DESIGN.md: cmd -> adapters -> {ledger, bundle} -> auditshot; adapters never import each other)", p.ImportPath, from)
			continue
		}
		for _, imp := range p.Imports {
			to, inModule := rel(imp)
			if !inModule || slices.Contains(ok, to) {
				continue
			}
			t.Errorf("%s imports %s, which it may not (allowed: %s). DESIGN.md: cmd -> adapters -> {ledger, bundle} -> auditshot; adapters never import each other; cmd/ wires them", p.ImportPath, imp, describe(module, ok))
		}
	}
}

// TestAllowedTable keeps the table itself in line with DESIGN.md.
func TestAllowedTable(t *testing.T) {
	for from, tos := range allowed {
		for _, to := range tos {
			if to == from {
				t.Errorf("allowed[%q] lists itself", from)
			}
			if _, ok := allowed[to]; !ok {
				t.Errorf("allowed[%q] lists %q, which is not in the table", from, to)
			}
			if slices.Contains(allowed[to], from) {
				t.Errorf("allowed has a cycle: %q <-> %q", from, to)
			}
		}
	}
	if len(allowed[root]) != 0 {
		t.Errorf("the root package must import no project package, table allows %v", allowed[root])
	}
}

func describe(module string, rels []string) string {
	if len(rels) == 0 {
		return "no project package"
	}
	paths := make([]string, len(rels))
	for i, r := range rels {
		paths[i] = module
		if r != root {
			paths[i] += "/" + r
		}
	}
	return strings.Join(paths, ", ")
}

// listPackages runs `go list -e -json ./...` in the module root and returns
// the module path and the packages.
func listPackages(t *testing.T) (module string, pkgs []pkg) {
	t.Helper()
	gomod := strings.TrimSpace(string(goCmd(t, "", "env", "GOMOD")))
	if gomod == "" || gomod == "/dev/null" {
		t.Fatalf("go env GOMOD = %q: not inside the module", gomod)
	}
	dir := filepath.Dir(gomod)
	module = strings.TrimSpace(string(goCmd(t, dir, "list", "-m", "-f", "{{.Path}}")))

	out := goCmd(t, dir, "list", "-e", "-json=Dir,ImportPath,Name,Doc,GoFiles,CgoFiles,Imports,Error", "./...")
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		if p.Error != nil {
			t.Errorf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return module, pkgs
}

// goCmd runs the go command in dir and returns its standard output.
func goCmd(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}
