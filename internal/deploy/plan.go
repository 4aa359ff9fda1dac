package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/openfc/openfc/internal/fc"
)

// Plan is what an s.yaml asks openfc to deploy.
type Plan struct {
	// Services in the order they first appear in the file.
	Services []ServicePlan
	// Domains are the custom domains (validated), deployed after the
	// functions they route to.
	Domains []fc.CustomDomain
}

// ServicePlan is one service and its functions, in file order.
type ServicePlan struct {
	Service   fc.Service
	Functions []FunctionPlan
}

// FunctionPlan is one function, where its code is, and its triggers.
type FunctionPlan struct {
	// Function is validated (fc.ValidateFunction) and has FC's defaults
	// filled in. Its code fields are empty: the CLI zips CodeDir.
	Function fc.Function
	// CodeDir is the absolute path of the code, resolved relative to the
	// s.yaml's directory. ParseFile checks that it is a directory; Parse
	// does not look at the disk.
	CodeDir string
	// Triggers are validated (fc.ValidateTrigger), in file order.
	Triggers []fc.Trigger
	// AsyncConfig is the function's async config (validated), nil when
	// the file sets none (an existing one is left as it is).
	AsyncConfig *fc.AsyncInvokeConfig
}

// Notice is a warning for the user about the s.yaml, such as a field
// openfc ignores or a region that differs from the one openfc serves.
// Notices are complete sentences prefixed with "file:line: ".
type Notice string

// ParseFile reads the s.yaml at path and parses it (see Parse). Then, as
// the file is on disk, it checks the code directories it names: each must
// be a directory, and a Node.js package without its node_modules gets a
// notice.
func ParseFile(path string, getenv func(string) string, region string) (*Plan, []Notice, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading s.yaml: %w", err)
	}
	return run(path, data, getenv, region, true)
}

// Parse parses the s.yaml data read from path. path names the file in
// messages, and relative code paths are resolved against its directory.
// getenv looks up ${env(NAME)} variables (nil means no environment); region
// is the region openfc serves: a different region in the file gives a Notice.
// Notices gathered before an error are returned with it. Parse does not
// look at the disk: the code directories are not checked.
func Parse(path string, data []byte, getenv func(string) string, region string) (*Plan, []Notice, error) {
	return run(path, data, getenv, region, false)
}

// run is Parse, followed by checkCode when onDisk is set.
func run(path string, data []byte, getenv func(string) string, region string, onDisk bool) (*Plan, []Notice, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, nil, fmt.Errorf("resolving the directory of %s: %w", path, err)
	}
	p := &parser{
		file:          path,
		dir:           dir,
		getenv:        getenv,
		region:        region,
		plan:          &Plan{},
		services:      map[string]int{},
		serviceLines:  map[string]int{},
		functionLines: map[string]int{},
		seenNotes:     map[Notice]bool{},
	}
	if err := p.parse(data); err != nil {
		return nil, p.notices, err
	}
	if onDisk {
		if err := p.checkCode(); err != nil {
			return nil, p.notices, err
		}
	}
	return p.plan, p.notices, nil
}

// parser holds the state of one Parse call.
type parser struct {
	file   string
	dir    string
	getenv func(string) string
	region string
	// vars is the top-level vars mapping, nil when there is none.
	vars *yaml.Node
	// root is the top-level mapping.
	root obj

	plan *Plan
	// services maps a service name to its index in plan.Services.
	services map[string]int
	// serviceLines records where each service was first configured.
	serviceLines map[string]int
	// functionLines records where each service/function was defined.
	functionLines map[string]int
	notices       []Notice
	seenNotes     map[Notice]bool
	// codes lists the code directories named in the file, for checkCode.
	codes []codeRef
}

// notef adds a notice located at line (0: the whole file), once.
func (p *parser) notef(line int, format string, args ...any) {
	loc := p.file
	if line > 0 {
		loc = fmt.Sprintf("%s:%d", p.file, line)
	}
	n := Notice(loc + ": " + fmt.Sprintf(format, args...))
	if !p.seenNotes[n] {
		p.seenNotes[n] = true
		p.notices = append(p.notices, n)
	}
}

// parse walks the whole document.
func (p *parser) parse(data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return syntaxError(p.file, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return &Error{File: p.file, Msg: "the file is empty"}
	}
	rootNode := deref(doc.Content[0])
	if rootNode.Kind != yaml.MappingNode {
		return p.errf(rootNode.Line, "", "expected a mapping at the top level, got %s", describe(rootNode))
	}
	root, err := p.asObj(val{n: rootNode, line: rootNode.Line})
	if err != nil {
		return err
	}
	// vars first: every other field may refer to it.
	for _, pr := range root.pairs {
		if pr.key.Value == "vars" && !isNull(pr.value) {
			v := deref(pr.value)
			if v.Kind != yaml.MappingNode {
				return p.errf(pr.key.Line, "vars", "expected a mapping, got %s", describe(v))
			}
			p.vars = v
		}
	}
	p.root = root
	for _, key := range []string{"extend", "template"} {
		if root.has(key) {
			p.notef(root.lineOf(key), "%s is not supported by openfc and was ignored", key)
		}
	}
	p.noteActions(root)

	if root.has("resources") && root.has("services") {
		return p.errf(root.lineOf("services"), "services", "use either resources (edition 3.0.0) or services (edition 1.0.0), not both")
	}
	section := "resources"
	if root.has("services") {
		section = "services"
	}
	res, ok, err := root.obj(section)
	if err != nil {
		return err
	}
	if !ok {
		return p.errf(root.line, "", "nothing to deploy: the file has no resources (edition 3.0.0) or services (edition 1.0.0)")
	}
	for _, pr := range res.pairs {
		if err := p.resource(res, pr.key.Value); err != nil {
			return err
		}
	}
	if len(p.plan.Services) == 0 {
		return p.errf(res.line, section, "nothing to deploy: no resource uses the fc3 or fc component")
	}
	return nil
}

// componentKind reduces a component reference ("devsapp/fc3@dev") to its
// base name ("fc3").
func componentKind(c string) string {
	if i := strings.IndexByte(c, '@'); i >= 0 {
		c = c[:i]
	}
	if i := strings.LastIndexByte(c, '/'); i >= 0 {
		c = c[i+1:]
	}
	return strings.ToLower(strings.TrimSpace(c))
}

// resource parses one entry of resources/services.
func (p *parser) resource(section obj, key string) error {
	v, err := section.get(key)
	if err != nil {
		return err
	}
	path := v.path
	if v.n == nil {
		return p.errf(v.line, path, "expected a mapping, got an empty value")
	}
	r, err := p.asObj(v)
	if err != nil {
		return err
	}
	component, err := r.str("component")
	if err != nil {
		return err
	}
	if component == "" {
		return p.errf(r.line, path, "component is required")
	}
	kind := componentKind(component)
	if kind != "fc3" && kind != "fc" {
		p.notef(r.lineOf("component"), "%s uses component %s, which openfc does not deploy; skipped", path, component)
		return nil
	}
	p.noteActions(r)
	props, ok, err := r.obj("props")
	if err != nil {
		return err
	}
	if !ok {
		return p.errf(r.line, path, "props is required")
	}
	if err := p.checkRegion(props); err != nil {
		return err
	}
	if kind == "fc3" {
		return p.fc3(props)
	}
	return p.fc2(props)
}

// checkRegion adds a notice when props.region differs from p.region.
func (p *parser) checkRegion(props obj) error {
	r, err := props.str("region")
	if err != nil || r == "" || p.region == "" || r == p.region {
		return err
	}
	p.notef(props.lineOf("region"), "%s says region %s; openfc serves region %s", filepath.Base(p.file), r, p.region)
	return nil
}

// noteActions adds a notice when o has actions, which openfc does not run.
func (p *parser) noteActions(o obj) {
	pr, ok := o.find("actions")
	n := deref(pr.value)
	if !ok || isNull(n) {
		return
	}
	line := pr.key.Line
	var runs []string
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			hook := deref(n.Content[i+1])
			if hook == nil || hook.Kind != yaml.SequenceNode {
				continue
			}
			for _, a := range hook.Content {
				a = deref(a)
				if a == nil || a.Kind != yaml.MappingNode {
					continue
				}
				var run, dir string
				for j := 0; j+1 < len(a.Content); j += 2 {
					switch a.Content[j].Value {
					case "run":
						run = a.Content[j+1].Value
					case "path":
						dir = a.Content[j+1].Value
					}
				}
				if run != "" {
					s := fmt.Sprintf("%s: %q", n.Content[i].Value, run)
					if dir != "" {
						s += " in " + dir
					}
					runs = append(runs, s)
				}
			}
		}
	}
	msg := "openfc does not run actions; run them yourself before deploying"
	if len(runs) > 0 {
		msg += " (" + strings.Join(runs, "; ") + ")"
	}
	p.notef(line, "%s", msg)
}

// addService returns the index of service s in the plan, adding it (after
// validation) the first time its name is seen. line and field locate s.
func (p *parser) addService(s fc.Service, line int, field string) (int, error) {
	if i, ok := p.services[s.ServiceName]; ok {
		prev := p.plan.Services[i].Service
		if prev.Description != s.Description || !sameBool(prev.InternetAccess, s.InternetAccess) {
			p.notef(line, "service %s is also configured at line %d with different settings; the first one is used",
				s.ServiceName, p.serviceLines[s.ServiceName])
		}
		return i, nil
	}
	if err := fc.ValidateService(&s); err != nil {
		return 0, &Error{File: p.file, Line: line, Field: field, Err: err}
	}
	p.serviceLines[s.ServiceName] = line
	p.services[s.ServiceName] = len(p.plan.Services)
	p.plan.Services = append(p.plan.Services, ServicePlan{Service: s})
	return len(p.plan.Services) - 1, nil
}

// addFunction appends fp to the service at index svc, refusing a second
// function of the same name in one service.
func (p *parser) addFunction(svc int, fp FunctionPlan, line int, field string) error {
	sp := &p.plan.Services[svc]
	key := sp.Service.ServiceName + "/" + fp.Function.FunctionName
	if first, dup := p.functionLines[key]; dup {
		return p.errf(line, field, "function %s is defined twice in service %s (first at line %d)",
			fp.Function.FunctionName, sp.Service.ServiceName, first)
	}
	p.functionLines[key] = line
	sp.Functions = append(sp.Functions, fp)
	return nil
}

func sameBool(a, b *bool) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}
