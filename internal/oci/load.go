package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ConfigName is the bundle's configuration file.
const ConfigName = "config.json"

// MaxConfigSize bounds what Load reads: real configurations are tens of
// kilobytes (Docker's, with its seccomp profile, is about 30), and the
// file is read whole into memory by a privileged process.
const MaxConfigSize = 4 << 20

// ErrInvalid is wrapped by every error about the content of a
// configuration, as opposed to failing to read it.
var ErrInvalid = errors.New("invalid configuration")

// FieldError is a problem with one field of the configuration, named by
// its JSON path ("process.rlimits[1].type"), with the offending value
// when showing it helps.
type FieldError struct {
	Field   string
	Value   string
	Problem string
}

func (e *FieldError) Error() string {
	s := ConfigName + ": "
	if e.Field != "" {
		s += e.Field
		if e.Value != "" {
			s += " " + strconv.Quote(e.Value)
		}
		s += ": "
	}
	return s + e.Problem
}

func (e *FieldError) Unwrap() error { return ErrInvalid }

// Load reads and validates the configuration of the bundle in
// bundleDir.
func Load(bundleDir string) (*specs.Spec, error) {
	path := filepath.Join(bundleDir, ConfigName)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("loading bundle %s: %w", bundleDir, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("loading bundle %s: %w", bundleDir, err)
	}
	if len(data) > MaxConfigSize {
		return nil, &FieldError{Problem: fmt.Sprintf("larger than %d MiB", MaxConfigSize>>20)}
	}
	spec, err := Parse(data)
	if err != nil {
		return nil, err
	}
	if err := Validate(spec, bundleDir); err != nil {
		return nil, err
	}
	return spec, nil
}

// Parse decodes a configuration without validating it. Unknown fields
// are ignored, as config.md requires of runtimes; a value of the wrong
// JSON type is an error that names the field and its line and column.
func Parse(data []byte) (*specs.Spec, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, &FieldError{Problem: "not a JSON object"}
	}
	var spec specs.Spec
	err := json.Unmarshal(data, &spec)
	if err == nil {
		return &spec, nil
	}
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		return nil, &FieldError{Problem: fmt.Sprintf("%s: %s", position(data, syntaxErr.Offset), syntaxErr)}
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "(top level)"
		}
		return nil, &FieldError{Problem: fmt.Sprintf("%s: %s: JSON %s where %s was expected",
			position(data, typeErr.Offset), field, typeErr.Value, describeType(typeErr.Type))}
	}
	return nil, &FieldError{Problem: err.Error()}
}

// position names the byte before offset as "line L, column C", both
// counted from 1, columns in bytes. The decoder's offsets count the
// bytes read, so that byte is the last one of the offending token: the
// bad character, or the end of a value of the wrong type.
func position(data []byte, offset int64) string {
	offset = min(max(offset-1, 0), int64(len(data)))
	line, col := 1, 1
	for _, b := range data[:offset] {
		if b == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d", line, col)
}

// describeType names a Go type by the JSON value it decodes from, which
// is what the author of a config.json can act on.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		return fmt.Sprintf("an unsigned %d-bit integer", t.Bits())
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		return fmt.Sprintf("a %d-bit integer", t.Bits())
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}
