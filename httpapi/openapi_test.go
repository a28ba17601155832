package httpapi_test

import (
	"encoding/json"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/auditshot/auditshot/httpapi"
)

// operationMethods are the keys of an OpenAPI path item that are operations.
var operationMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPIDoc reads openapi.json as a generic JSON tree.
func openAPIDoc(tb testing.TB) map[string]any {
	tb.Helper()
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		tb.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		tb.Fatalf("openapi.json: %v", err)
	}
	return doc
}

// operation is one documented operation.
type operation struct {
	Method, Path string
	Op           map[string]any
	Item         map[string]any // the path item, for path-level parameters
}

func operations(tb testing.TB, doc map[string]any) []operation {
	tb.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		tb.Fatal("openapi.json: no paths object")
	}
	var ops []operation
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		item, ok := paths[path].(map[string]any)
		if !ok {
			tb.Fatalf("paths[%q] is not an object", path)
		}
		for _, m := range operationMethods {
			if o, ok := item[m].(map[string]any); ok {
				ops = append(ops, operation{Method: m, Path: path, Op: o, Item: item})
			}
		}
	}
	return ops
}

func TestOpenAPICoversEveryRoute(t *testing.T) {
	doc := openAPIDoc(t)
	documented := map[string]bool{}
	for _, o := range operations(t, doc) {
		documented[strings.ToUpper(o.Method)+" "+o.Path] = true
	}
	routes := map[string]bool{}
	for _, r := range httpapi.Routes() {
		route := r[0] + " " + r[1]
		routes[route] = true
		if !documented[route] {
			t.Errorf("route %s is not documented in openapi.json (paths[%q].%s)", route, r[1], strings.ToLower(r[0]))
		}
	}
	if len(routes) == 0 {
		t.Fatal("httpapi.Routes() returned no routes")
	}
	for op := range documented {
		if !routes[op] {
			t.Errorf("openapi.json documents %s, which is not a route", op)
		}
	}
}

func TestOpenAPIIsValid(t *testing.T) {
	doc := openAPIDoc(t)
	t.Run("Version", func(t *testing.T) {
		if v := doc["openapi"]; v != "3.1.0" {
			t.Errorf("openapi = %v, want 3.1.0", v)
		}
		info, _ := doc["info"].(map[string]any)
		if info["title"] == nil || info["version"] == nil {
			t.Errorf("info needs title and version, got %v", info)
		}
	})
	t.Run("Refs", func(t *testing.T) {
		walk(doc, "#", func(where string, node map[string]any) {
			r, ok := node["$ref"].(string)
			if !ok {
				return
			}
			if _, err := resolve(doc, r); err != "" {
				t.Errorf("%s: $ref %q does not resolve: %s", where, r, err)
			}
		})
	})
	ops := operations(t, doc)
	t.Run("OperationIDs", func(t *testing.T) {
		seen := map[string]string{}
		for _, o := range ops {
			id, _ := o.Op["operationId"].(string)
			name := strings.ToUpper(o.Method) + " " + o.Path
			switch {
			case id == "":
				t.Errorf("%s has no operationId", name)
			case seen[id] != "":
				t.Errorf("%s and %s share operationId %q", seen[id], name, id)
			default:
				seen[id] = name
			}
		}
	})
	t.Run("SuccessResponses", func(t *testing.T) {
		for _, o := range ops {
			responses, _ := o.Op["responses"].(map[string]any)
			if !slices.ContainsFunc(slices.Collect(maps.Keys(responses)), func(code string) bool { return strings.HasPrefix(code, "2") }) {
				t.Errorf("%s %s has no 2xx response", strings.ToUpper(o.Method), o.Path)
			}
		}
	})
	t.Run("PathParameters", func(t *testing.T) {
		pathParam := regexp.MustCompile(`\{([^}]+)\}`)
		for _, o := range ops {
			declared := parameters(t, doc, o, "path")
			var want []string
			for _, m := range pathParam.FindAllStringSubmatch(o.Path, -1) {
				want = append(want, m[1])
				p, ok := declared[m[1]]
				if !ok {
					t.Errorf("%s %s does not declare path parameter %q", strings.ToUpper(o.Method), o.Path, m[1])
					continue
				}
				if p["required"] != true {
					t.Errorf("%s %s: path parameter %q must be required", strings.ToUpper(o.Method), o.Path, m[1])
				}
			}
			for name := range declared {
				if !slices.Contains(want, name) {
					t.Errorf("%s %s declares path parameter %q that is not in its path", strings.ToUpper(o.Method), o.Path, name)
				}
			}
		}
	})
	t.Run("IdempotencyKey", func(t *testing.T) {
		for _, o := range ops {
			if o.Method != "post" {
				continue
			}
			if _, ok := parameters(t, doc, o, "header")["idempotency-key"]; !ok {
				t.Errorf("POST %s does not declare the Idempotency-Key header parameter", o.Path)
			}
		}
	})
}

// parameters returns the operation's parameters (with its path item's)
// that are in the given location, by name; header names are lower case.
func parameters(tb testing.TB, doc map[string]any, o operation, in string) map[string]map[string]any {
	tb.Helper()
	out := map[string]map[string]any{}
	for _, list := range []any{o.Item["parameters"], o.Op["parameters"]} {
		ps, _ := list.([]any)
		for _, p := range ps {
			pm, _ := p.(map[string]any)
			if r, ok := pm["$ref"].(string); ok {
				target, err := resolve(doc, r)
				if err != "" {
					tb.Errorf("%s %s: parameter $ref %q: %s", strings.ToUpper(o.Method), o.Path, r, err)
					continue
				}
				pm, _ = target.(map[string]any)
			}
			if pm["in"] != in {
				continue
			}
			name, _ := pm["name"].(string)
			if in == "header" {
				name = strings.ToLower(name)
			}
			out[name] = pm
		}
	}
	return out
}

// resolve follows a local JSON pointer ("#/components/schemas/Run").
func resolve(doc map[string]any, ref string) (any, string) {
	rest, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, "not a reference inside the document"
	}
	var node any = doc
	if rest == "" {
		return node, ""
	}
	if !strings.HasPrefix(rest, "/") {
		return nil, "not a JSON pointer"
	}
	for _, tok := range strings.Split(rest[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := node.(map[string]any)
		if !ok {
			return nil, "no object at " + tok
		}
		if node, ok = m[tok]; !ok {
			return nil, "no " + tok
		}
	}
	return node, ""
}

// walk calls f for every object in the tree under node.
func walk(node any, where string, f func(where string, node map[string]any)) {
	switch v := node.(type) {
	case map[string]any:
		f(where, v)
		for k, c := range v {
			walk(c, where+"/"+k, f)
		}
	case []any:
		for i, c := range v {
			walk(c, where+"/"+strconv.Itoa(i), f)
		}
	}
}
