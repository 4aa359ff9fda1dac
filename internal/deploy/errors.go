package deploy

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/openfc/openfc/internal/fc"
)

// Error is a problem in an s.yaml, located by file, line and field.
type Error struct {
	// File is the s.yaml path as given to Parse.
	File string
	// Line is the 1-based line of the offending key or block; 0 when the
	// error is about the whole file.
	Line int
	// Field is the dotted path of the offending field, such as
	// "resources.web.props.memorySize"; empty when not known.
	Field string
	// Msg says what is wrong. When empty, the message of Err is used.
	Msg string
	// Err is the underlying cause, if any: for validation failures the
	// *fc.Error returned by package fc.
	Err error
}

// Error formats the error as "file:line: field: message".
func (e *Error) Error() string {
	msg := e.Msg
	if msg == "" && e.Err != nil {
		var fe *fc.Error
		if errors.As(e.Err, &fe) {
			msg = fe.Message
		} else {
			msg = e.Err.Error()
		}
	}
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Field != "" {
		return loc + ": " + e.Field + ": " + msg
	}
	return loc + ": " + msg
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// yamlLineRE matches the line number that yaml.v3 puts into syntax errors.
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError converts a yaml.v3 syntax error into an *Error, keeping the
// line number yaml.v3 reports.
func syntaxError(file string, err error) error {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Msg: "invalid YAML: " + m[2], Err: err}
	}
	return &Error{File: file, Msg: fmt.Sprintf("invalid YAML: %v", err), Err: err}
}
