package deploy

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/openfc/openfc/internal/suggest"
)

// codeRef is a code directory named in the file, and where.
type codeRef struct {
	at where
	// written is the path as written in the file; dir is its absolute,
	// cleaned form.
	written, dir string
}

// checkCode checks on disk that every code directory of the file exists
// and is a directory, so that a wrong path fails the deploy before anything
// is created on the server. A Node.js package whose dependencies are not
// installed gets a notice: openfc uploads the directory as it is, as FC's
// own tools do, and the function would fail when it starts.
func (p *parser) checkCode() error {
	for _, c := range p.codes {
		fi, err := os.Stat(c.dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return p.errAt(c.at, "%s", missingCodeMsg(c))
		case err != nil:
			return &Error{File: p.file, Line: c.at.line, Field: c.at.field, Msg: "cannot read the code directory: " + err.Error(), Err: err}
		case !fi.IsDir():
			return p.errAt(c.at, "%s is not a directory: openfc uploads a code directory", c.written)
		}
		if missingNodeModules(c.dir) {
			p.notef(c.at.line, "%s: %s has a package.json with dependencies but no node_modules directory; "+
				"openfc uploads the directory as it is (FC's tools do not install them either): run `npm install` there first",
				c.at.field, c.written)
		}
	}
	return nil
}

// missingCodeMsg says that c does not exist, where it was looked for when
// written as a relative path, and which neighbour may have been meant.
func missingCodeMsg(c codeRef) string {
	msg := "code directory " + c.written + " does not exist"
	if c.written != c.dir {
		msg += " (looked for " + c.dir + ")"
	}
	entries, err := os.ReadDir(filepath.Dir(c.dir))
	if err != nil {
		return msg
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	base := filepath.Base(c.dir)
	if s := suggest.Closest(base, dirs); s != "" {
		// Keep the path as the user wrote it ("./cdoe" → "./code").
		w := strings.TrimRight(c.written, "/")
		if strings.HasSuffix(w, base) {
			s = w[:len(w)-len(base)] + s
		}
		msg += "; did you mean " + s + "?"
	}
	return msg
}

// missingNodeModules reports whether dir has a package.json listing
// dependencies and no node_modules directory. An unreadable or invalid
// package.json is not openfc's business: the function's own start fails.
func missingNodeModules(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return false
	}
	var pkg struct {
		Dependencies map[string]json.RawMessage `json:"dependencies"`
	}
	if json.Unmarshal(b, &pkg) != nil || len(pkg.Dependencies) == 0 {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, "node_modules"))
	return err != nil || !fi.IsDir()
}
