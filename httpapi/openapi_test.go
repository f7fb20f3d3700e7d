package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

type openAPIParam struct {
	Name   string `json:"name"`
	In     string `json:"in"`
	Schema struct {
		Enum []string `json:"enum"`
	} `json:"schema"`
}

type openAPIOp struct {
	Security    *[]any         `json:"security"`
	RequestBody any            `json:"requestBody"`
	Parameters  []openAPIParam `json:"parameters"`
	Responses   map[string]any `json:"responses"`
}

// TestOpenAPIDocumentMatchesRoutes holds openapi.json and the routes
// together: the same paths and methods, the same public endpoints, every
// path parameter declared, a body for each POST but logout, and a 400 for
// each endpoint that checks input: a body, a query parameter (a namespace is any string) or a path
// parameter with a set of values.
func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                          `json:"openapi"`
		Paths   map[string]map[string]openAPIOp `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	documented := map[string]openAPIOp{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented[strings.ToUpper(method)+" "+path] = op
		}
	}
	for _, rt := range routes {
		key := rt.method + " " + rt.path
		op, ok := documented[key]
		if !ok {
			t.Errorf("%s is served but not in openapi.json", key)
			continue
		}
		delete(documented, key)
		if public := op.Security != nil && len(*op.Security) == 0; public != rt.public {
			t.Errorf("%s: public in openapi.json = %v, served public = %v", key, public, rt.public)
		}
		for _, seg := range strings.Split(rt.path, "/") {
			if name, ok := strings.CutPrefix(seg, "{"); ok {
				name = strings.TrimSuffix(name, "}")
				if !slices.ContainsFunc(op.Parameters, func(p openAPIParam) bool { return p.Name == name && p.In == "path" }) {
					t.Errorf("%s: path parameter %s not declared", key, name)
				}
			}
		}
		checked := func(p openAPIParam) bool {
			return p.In == "query" && p.Name != "namespace" || p.In == "path" && len(p.Schema.Enum) > 0
		}
		if rt.method == "POST" && op.RequestBody == nil && rt.path != "/api/v1/logout" {
			t.Errorf("%s documents no request body", key)
		}
		if (op.RequestBody != nil || slices.ContainsFunc(op.Parameters, checked)) && op.Responses["400"] == nil {
			t.Errorf("%s takes input but documents no 400", key)
		}
	}
	for key := range documented {
		t.Errorf("%s is in openapi.json but not served", key)
	}
}

func TestOpenAPIDocumentIsServed(t *testing.T) {
	srv := httptest.NewServer(New(Config{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || json.NewDecoder(resp.Body).Decode(&doc) != nil {
		t.Fatalf("GET /api/v1/openapi.json = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
