package receipt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"gigvault/internal/canonjson"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Canonical returns the canonical JSON of r, the bytes that are signed:
//
//   - object keys sorted by byte order (all keys are ASCII), no duplicates;
//   - no insignificant white space;
//   - strings in UTF-8, escaping only '"', '\\' and control characters
//     below U+0020 (as \b \f \n \r \t or \u00xx with lower-case hex);
//   - integers in shortest decimal form; booleans as true and false;
//   - optional fields (publicKey, spiCat, guardian, piiControllerUrl,
//     thirdPartyName and the optional address parts) omitted when empty,
//     every other field always present.
//
// This is RFC 8785 (JCS) restricted to the values a receipt can hold.
// Canonical does not validate r beyond refusing invalid UTF-8; Sign does.
func Canonical(r *Receipt) ([]byte, error) {
	if r == nil {
		return nil, errors.New("receipt: canonical: nil receipt")
	}
	for _, f := range r.fields() {
		if !utf8.ValidString(f.value) {
			return nil, &FieldError{f.path, "not valid UTF-8"}
		}
	}
	return canonicalJSON(r)
}

// canonicalJSON marshals v with encoding/json, then re-encodes the result
// canonically.
func canonicalJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("receipt: canonical: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var tree any
	if err := d.Decode(&tree); err != nil {
		return nil, fmt.Errorf("receipt: canonical: %w", err)
	}
	var b bytes.Buffer
	if err := writeCanonical(&b, tree); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var reInteger = regexp.MustCompile(`^-?(?:0|[1-9][0-9]{0,18})$`)

func writeCanonical(b *bytes.Buffer, v any) error { return canonjson.Write(b, v, receiptNumber) }

// receiptNumber allows integers only.
func receiptNumber(n json.Number) error {
	if !reInteger.MatchString(string(n)) {
		return errors.New("receipt: canonical: only integers are allowed")
	}
	return nil
}

// maxDepth bounds nesting in checkStrictJSON; a receipt needs six levels.
const maxDepth = 16

var (
	errDuplicateKey = errors.New("duplicate JSON object key")
	errTrailingData = errors.New("trailing data after the JSON value")
	errTooDeep      = errors.New("JSON nested too deeply")
)

// checkStrictJSON reports whether b is exactly one JSON value with no
// duplicate object keys (compared exactly, and case-insensitively too, as
// encoding/json matches field names case-insensitively) and no trailing data.
func checkStrictJSON(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := strictValue(d, 0); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errTrailingData
	}
	return nil
}

func strictValue(d *json.Decoder, depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	t, err := d.Token()
	if err != nil {
		return err
	}
	delim, ok := t.(json.Delim)
	if !ok {
		return nil
	}
	switch delim {
	case '{':
		seen := map[string]bool{}
		for d.More() {
			kt, err := d.Token()
			if err != nil {
				return err
			}
			k, ok := kt.(string)
			if !ok {
				return errors.New("object key is not a string")
			}
			fold := strings.ToLower(k)
			if seen[fold] {
				return errDuplicateKey
			}
			seen[fold] = true
			if err := strictValue(d, depth+1); err != nil {
				return err
			}
		}
	case '[':
		for d.More() {
			if err := strictValue(d, depth+1); err != nil {
				return err
			}
		}
	default:
		return errors.New("unexpected delimiter")
	}
	_, err = d.Token() // the closing delimiter
	return err
}
