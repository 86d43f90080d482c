package httpapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"gigvault/api"
	"gigvault/internal/errs"
)

// httpMethods are the operation keys of an OpenAPI path item; any other key
// (summary, parameters, servers, ...) is not an operation.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

type openAPIDoc struct {
	OpenAPI    string                          `yaml:"openapi"`
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components struct {
		Schemas map[string]yaml.Node `yaml:"schemas"`
	} `yaml:"components"`
}

type openAPIOperation struct {
	OperationID string               `yaml:"operationId"`
	Responses   map[string]yaml.Node `yaml:"responses"`
}

func parseOpenAPI(t *testing.T, b []byte) openAPIDoc {
	t.Helper()
	var d openAPIDoc
	if err := yaml.Unmarshal(b, &d); err != nil {
		t.Fatalf("parse OpenAPI document: %v", err)
	}
	return d
}

// docOperations returns "METHOD path" for every operation of the document.
func docOperations(t *testing.T, d openAPIDoc) map[string]openAPIOperation {
	t.Helper()
	ops := map[string]openAPIOperation{}
	for path, item := range d.Paths {
		for key, node := range item {
			if !slices.Contains(httpMethods, key) {
				if slices.Contains(httpMethods, strings.ToLower(key)) {
					t.Errorf("paths[%q]: method key %q must be lower case", path, key)
				}
				continue
			}
			var op openAPIOperation
			if err := node.Decode(&op); err != nil {
				t.Errorf("paths[%q].%s: %v", path, key, err)
				continue
			}
			ops[strings.ToUpper(key)+" "+path] = op
		}
	}
	return ops
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	d := parseOpenAPI(t, api.OpenAPI)
	ops := docOperations(t, d)

	routes := New(Deps{}).Routes()
	if len(routes) == 0 {
		t.Fatal("no routes registered")
	}
	registered := map[string]bool{}
	for _, r := range routes {
		if r.Method != strings.ToUpper(r.Method) {
			t.Errorf("route %s %s: method must be upper case", r.Method, r.Pattern)
		}
		key := r.Method + " " + r.Pattern
		if registered[key] {
			t.Errorf("route %s registered twice", key)
		}
		registered[key] = true
		if _, ok := ops[key]; !ok {
			t.Errorf("route %s is not documented: want paths[%q].%s in api/openapi.yaml", key, r.Pattern, strings.ToLower(r.Method))
		}
	}
	for key := range ops {
		if !registered[key] {
			t.Errorf("api/openapi.yaml documents %s but no such route is registered", key)
		}
	}
}

func TestOpenAPIDocument(t *testing.T) {
	d := parseOpenAPI(t, api.OpenAPI)
	if !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(d.OpenAPI) {
		t.Errorf("openapi = %q, want 3.1.x", d.OpenAPI)
	}
	ops := docOperations(t, d)
	if len(ops) == 0 {
		t.Fatal("document has no operations")
	}
	ids := map[string]string{}
	statusKey := regexp.MustCompile(`^([1-5]\d\d|[1-5]XX|default)$`)
	for key, op := range ops {
		if op.OperationID == "" {
			t.Errorf("%s: no operationId", key)
		} else if prev, dup := ids[op.OperationID]; dup {
			t.Errorf("%s: operationId %q already used by %s", key, op.OperationID, prev)
		} else {
			ids[op.OperationID] = key
		}
		if len(op.Responses) == 0 {
			t.Errorf("%s: no responses", key)
		}
		for code := range op.Responses {
			if !statusKey.MatchString(code) {
				t.Errorf("%s: response key %q is not a status code", key, code)
			}
		}
	}
}

// TestOpenAPIRefsResolve checks every local $ref points at a schema that exists.
func TestOpenAPIRefsResolve(t *testing.T) {
	d := parseOpenAPI(t, api.OpenAPI)
	var root yaml.Node
	if err := yaml.Unmarshal(api.OpenAPI, &root); err != nil {
		t.Fatal(err)
	}
	var refs []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == "$ref" {
					refs = append(refs, n.Content[i+1].Value)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
	if len(refs) == 0 {
		t.Fatal("expected at least one $ref in the document")
	}
	for _, ref := range refs {
		name, ok := strings.CutPrefix(ref, "#/components/schemas/")
		if !ok {
			t.Errorf("$ref %q: only #/components/schemas/ references are expected", ref)
			continue
		}
		if _, ok := d.Components.Schemas[name]; !ok {
			t.Errorf("$ref %q: no such schema", ref)
		}
	}
}

// errsCodes lists the Code constants declared in internal/errs, read from its
// source so that a new code cannot be added without the API noticing.
func errsCodes(t *testing.T) []errs.Code {
	t.Helper()
	const dir = "../errs"
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read internal/errs: %v", err)
	}
	fset := token.NewFileSet()
	var codes []errs.Code
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatalf("parse internal/errs: %v", err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
					continue
				}
				for _, v := range vs.Values {
					lit, ok := v.(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("errs: Code constant with non-literal value at %s", fset.Position(v.Pos()))
					}
					s, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					codes = append(codes, errs.Code(s))
				}
			}
		}
	}
	if len(codes) == 0 {
		t.Fatal("found no errs.Code constants")
	}
	slices.Sort(codes)
	return codes
}

func TestErrorCodesInStep(t *testing.T) {
	fromErrs := errsCodes(t)

	var fromStatus []errs.Code
	for c := range statusOf {
		fromStatus = append(fromStatus, c)
	}
	slices.Sort(fromStatus)
	if diff := cmp.Diff(fromErrs, fromStatus); diff != "" {
		t.Errorf("statusOf keys differ from the errs.Code constants (-errs +statusOf):\n%s", diff)
	}

	var body struct {
		Properties struct {
			Error yaml.Node `yaml:"error"`
		} `yaml:"properties"`
	}
	var detail struct {
		Required   []string `yaml:"required"`
		Properties struct {
			Code struct {
				Enum []errs.Code `yaml:"enum"`
			} `yaml:"code"`
		} `yaml:"properties"`
	}
	d := parseOpenAPI(t, api.OpenAPI)
	node, ok := d.Components.Schemas["ErrorBody"]
	if !ok {
		t.Fatal("no components.schemas.ErrorBody")
	}
	if err := node.Decode(&body); err != nil {
		t.Fatal(err)
	}
	// The error object may be inline or a $ref (to ErrorDetail).
	errNode := resolveSchema(t, d, body.Properties.Error)
	if err := errNode.Decode(&detail); err != nil {
		t.Fatal(err)
	}
	enum := slices.Clone(detail.Properties.Code.Enum)
	slices.Sort(enum)
	if diff := cmp.Diff(fromStatus, enum); diff != "" {
		t.Errorf("ErrorBody code enum differs from statusOf (-statusOf +openapi):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"code", "message", "message_zh"}, detail.Required); diff != "" {
		t.Errorf("ErrorBody error.required (-want +got):\n%s", diff)
	}
}

// resolveSchema follows a schema's local $ref chain to the schema itself.
func resolveSchema(t *testing.T, d openAPIDoc, n yaml.Node) yaml.Node {
	t.Helper()
	for range 10 {
		var ref struct {
			Ref string `yaml:"$ref"`
		}
		if err := n.Decode(&ref); err != nil || ref.Ref == "" {
			return n
		}
		name, ok := strings.CutPrefix(ref.Ref, "#/components/schemas/")
		if !ok {
			t.Fatalf("$ref %q: only #/components/schemas/ references are expected", ref.Ref)
		}
		if n, ok = d.Components.Schemas[name]; !ok {
			t.Fatalf("$ref %q: no such schema", ref.Ref)
		}
	}
	t.Fatal("$ref chain too long")
	return n
}

func TestServeOpenAPI(t *testing.T) {
	rec := httptest.NewRecorder()
	New(Deps{}).Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.yaml", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/yaml") {
		t.Errorf("Content-Type = %q, want application/yaml", ct)
	}
	if rec.Body.String() != string(api.OpenAPI) {
		t.Error("served document differs from api.OpenAPI")
	}
}

// TestOpenAPIAccessMatchesRoutes checks that the document says who may call
// each operation as the code does: x-access is the route's Access rule, and
// security is empty exactly for public routes and requires the bearer token
// otherwise. Every operation states its security itself rather than
// inheriting the document's default.
func TestOpenAPIAccessMatchesRoutes(t *testing.T) {
	var doc struct {
		Paths      map[string]map[string]yaml.Node `yaml:"paths"`
		Components struct {
			SecuritySchemes map[string]struct {
				Type   string `yaml:"type"`
				Scheme string `yaml:"scheme"`
			} `yaml:"securitySchemes"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatalf("parse OpenAPI document: %v", err)
	}
	bearer, ok := doc.Components.SecuritySchemes["bearer"]
	if !ok {
		t.Fatal("no components.securitySchemes.bearer")
	}
	if bearer.Type != "http" || !strings.EqualFold(bearer.Scheme, "bearer") {
		t.Errorf("securitySchemes.bearer = {type: %q, scheme: %q}, want {type: http, scheme: bearer}", bearer.Type, bearer.Scheme)
	}

	type operation struct {
		Access   *string                `yaml:"x-access"`
		Security *[]map[string][]string `yaml:"security"`
	}
	routes := New(Deps{}).Routes()
	if len(routes) == 0 {
		t.Fatal("no routes registered")
	}
	for _, r := range routes {
		key := r.Method + " " + r.Pattern
		if r.Public != (r.Access == AccessPublic) {
			t.Errorf("route %s: Public = %v but Access = %q", key, r.Public, r.Access)
		}
		node, ok := doc.Paths[r.Pattern][strings.ToLower(r.Method)]
		if !ok {
			t.Errorf("route %s is not documented", key)
			continue
		}
		var op operation
		if err := node.Decode(&op); err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		switch {
		case op.Access == nil:
			t.Errorf("%s: no x-access; want %q", key, r.Access)
		case *op.Access != r.Access:
			t.Errorf("%s: x-access = %q, want %q (Route.Access)", key, *op.Access, r.Access)
		}
		if op.Security == nil {
			if r.Public {
				t.Errorf("%s: no security; a public operation needs security: []", key)
			} else {
				t.Errorf("%s: no security; want security: [{bearer: []}]", key)
			}
			continue
		}
		reqs := *op.Security
		for _, req := range reqs {
			for name := range req {
				if _, ok := doc.Components.SecuritySchemes[name]; !ok {
					t.Errorf("%s: security names %q, which is not in components.securitySchemes", key, name)
				}
			}
		}
		if r.Public {
			if len(reqs) != 0 {
				t.Errorf("%s: public route, but security = %v; want []", key, reqs)
			}
			continue
		}
		hasBearer := false
		for _, req := range reqs {
			if len(req) == 0 {
				// {} makes authentication optional.
				t.Errorf("%s: security has an empty requirement, but the route needs a session", key)
			}
			if _, ok := req["bearer"]; ok {
				hasBearer = true
			}
		}
		if !hasBearer {
			t.Errorf("%s: security = %v; want it to require bearer", key, reqs)
		}
	}
}
