// Package canonjson writes the canonical JSON that signed documents
// (consent receipts, regulator packages) are signed over: object keys
// sorted by byte order at every level, no insignificant whitespace, and
// only the escapes JSON requires (quote, backslash, control characters).
// Values are the tree encoding/json decodes into with UseNumber: nil, bool,
// json.Number, string, []any and map[string]any.
package canonjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Write appends the canonical form of v to b. number, when not nil, checks
// each number first (a format may allow integers only).
func Write(b *bytes.Buffer, v any, number func(json.Number) error) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case json.Number:
		if number != nil {
			if err := number(x); err != nil {
				return err
			}
		}
		b.WriteString(string(x))
	case string:
		WriteString(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := Write(b, e, number); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			WriteString(b, k)
			b.WriteByte(':')
			if err := Write(b, x[k], number); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("canonjson: unexpected %T", v)
	}
	return nil
}

const hexDigits = "0123456789abcdef"

// WriteString appends s as a JSON string with only the required escapes.
func WriteString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"', c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
