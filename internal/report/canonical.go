package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"gigvault/internal/canonjson"
	"io"
	"unicode/utf8"
)

// The canonical form of a package, the bytes that are signed and the only
// form Verify accepts, is the JSON of the package
//
//   - with object keys sorted by byte order, each at most once, at every
//     level (the embedded policy and lists included);
//   - with no insignificant white space;
//   - with strings in UTF-8, escaping only '"', '\\' and control characters
//     below U+0020 (as \b \f \n \r \t or \u00xx with lower-case hex);
//   - with numbers exactly as they were written (the counts are integers in
//     shortest form; the embedded documents hold integers only);
//   - with null, true and false as such.
//
// This is RFC 8785 (JCS) restricted as in the consent receipts (package
// receipt), except that numbers are kept as written rather than
// reformatted, which is deterministic because every number is written once,
// by encoding/json or by the document's own encoder, and kept verbatim
// since.

// maxDepth bounds nesting: the package adds three levels to the embedded
// documents, which need fewer than ten.
const maxDepth = 64

var (
	errDuplicateKey = errors.New("duplicate JSON object key")
	errTrailingData = errors.New("trailing data after the JSON value")
	errTooDeep      = errors.New("JSON nested too deeply")
	errInvalidUTF8  = errors.New("JSON string is not valid UTF-8")
)

// parseTree decodes exactly one JSON value from b into a tree of
// map[string]any, []any, string, json.Number, bool and nil, refusing
// duplicate keys, invalid UTF-8, excessive nesting and trailing data.
func parseTree(b []byte) (any, error) {
	if !utf8.Valid(b) {
		return nil, errInvalidUTF8 // encoding/json would quietly replace it
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	v, err := treeValue(d, 0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errTrailingData
	}
	return v, nil
}

func treeValue(d *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	delim, ok := t.(json.Delim)
	if !ok {
		return t, nil // string, json.Number, bool or nil
	}
	switch delim {
	case '{':
		m := map[string]any{}
		for d.More() {
			kt, err := d.Token()
			if err != nil {
				return nil, err
			}
			k, ok := kt.(string)
			if !ok {
				return nil, errors.New("object key is not a string")
			}
			if _, dup := m[k]; dup {
				return nil, errDuplicateKey
			}
			if m[k], err = treeValue(d, depth+1); err != nil {
				return nil, err
			}
		}
		_, err = d.Token() // '}'
		return m, err
	case '[':
		a := []any{}
		for d.More() {
			v, err := treeValue(d, depth+1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err = d.Token() // ']'
		return a, err
	}
	return nil, errors.New("unexpected delimiter")
}

// canonicalJSON marshals v with encoding/json and re-encodes the result
// canonically.
func canonicalJSON(v any) ([]byte, error) {
	tree, err := toTree(v)
	if err != nil {
		return nil, err
	}
	return encodeTree(tree)
}

// toTree marshals v and parses the result into a tree.
func toTree(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("report: canonical: %w", err)
	}
	tree, err := parseTree(raw)
	if err != nil {
		return nil, fmt.Errorf("report: canonical: %w", err)
	}
	return tree, nil
}

// canonicalDocument returns the canonical form of one embedded JSON
// document, which must be an object.
func canonicalDocument(b []byte) (json.RawMessage, error) {
	tree, err := parseTree(b)
	if err != nil {
		return nil, err
	}
	if _, ok := tree.(map[string]any); !ok {
		return nil, errors.New("not a JSON object")
	}
	return encodeTree(tree)
}

func encodeTree(tree any) ([]byte, error) {
	var b bytes.Buffer
	if err := writeCanonical(&b, tree); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeCanonical writes numbers as the decoder validated them.
func writeCanonical(b *bytes.Buffer, v any) error { return canonjson.Write(b, v, nil) }
