package dsrexport

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// bom starts each CSV file, so spreadsheets read it as UTF-8.
const bom = "\uFEFF"

// cell keeps a value from being read as a formula by a spreadsheet (CSV
// injection): a cell starting with = + - @, a tab or a carriage return gets
// a leading apostrophe. So that the CSV stays reversible, a cell that
// already starts with an apostrophe gets one more: removing one leading
// apostrophe from any cell that has one (uncell) gives the value back.
// data.json holds the values as they are.
func cell(v string) string {
	if v != "" && strings.IndexByte("=+-@\t\r'", v[0]) >= 0 {
		return "'" + v
	}
	return v
}

// uncell is the inverse of cell.
func uncell(c string) string { return strings.TrimPrefix(c, "'") }

// encodeCSV writes rows as RFC 4180 CSV after a BOM: fields separated by
// commas, every record ended by CRLF, a field quoted when it holds a comma,
// a quote, CR or LF or starts or ends with a space, quotes inside doubled.
// Line breaks inside a quoted field are kept exactly as they are.
func encodeCSV(rows [][]string) []byte {
	var b bytes.Buffer
	b.WriteString(bom)
	for _, row := range rows {
		for i, f := range row {
			if i > 0 {
				b.WriteByte(',')
			}
			if strings.ContainsAny(f, "\",\r\n") || strings.HasPrefix(f, " ") || strings.HasSuffix(f, " ") {
				b.WriteByte('"')
				b.WriteString(strings.ReplaceAll(f, `"`, `""`))
				b.WriteByte('"')
			} else {
				b.WriteString(f)
			}
		}
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

var errCSVEnd = errors.New("the last record does not end with CRLF")

// parseCSV reads what encodeCSV writes, strictly: a BOM, valid UTF-8,
// records ended by CRLF (the last one too), a quote only around a whole
// field (doubled inside), no bare CR or LF outside quotes. Unlike
// encoding/csv it keeps CRLF inside a quoted field as it is, so any value
// survives.
func parseCSV(b []byte) ([][]string, error) {
	if !bytes.HasPrefix(b, []byte(bom)) {
		return nil, errors.New("no UTF-8 byte order mark")
	}
	b = b[len(bom):]
	if !utf8.Valid(b) {
		return nil, errors.New("not UTF-8")
	}
	var rows [][]string
	var row []string
	var f strings.Builder
	line := 1
	for i := 0; i < len(b); {
		// At the start of a field.
		f.Reset()
		if b[i] == '"' {
			i++
			for {
				if i >= len(b) {
					return nil, fmt.Errorf("line %d: unterminated quoted field", line)
				}
				c := b[i]
				i++
				if c == '"' {
					if i < len(b) && b[i] == '"' {
						f.WriteByte('"')
						i++
						continue
					}
					break
				}
				if c == '\n' {
					line++
				}
				f.WriteByte(c)
			}
		} else {
			for i < len(b) && b[i] != ',' && b[i] != '\r' {
				if b[i] == '"' || b[i] == '\n' {
					return nil, fmt.Errorf("line %d: quote or line feed inside an unquoted field", line)
				}
				f.WriteByte(b[i])
				i++
			}
		}
		row = append(row, f.String())
		// After a field: a comma, or CRLF ending the record.
		switch {
		case i >= len(b):
			return nil, errCSVEnd
		case b[i] == ',':
			i++
			if i >= len(b) {
				return nil, errCSVEnd
			}
		case b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n':
			i += 2
			line++
			rows = append(rows, row)
			row = nil
		default:
			return nil, fmt.Errorf("line %d: unexpected character after a field", line)
		}
	}
	return rows, nil
}
