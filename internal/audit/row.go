package audit

import (
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// row is an entry as stored: the columns searches use (time, actor, action,
// subject) beside a body holding the rest, and the chain hash over all of it.
type row struct {
	seq, at                int64
	actor, action, subject string
	body, hash             []byte
}

// bodyVersion tags the body encoding.
const bodyVersion = 1

// encodeBody packs the fields searches do not filter on, length-prefixed.
func encodeBody(fields, purpose, outcome, channel, detail string) []byte {
	b := make([]byte, 0, 1+len(fields)+len(purpose)+len(outcome)+len(channel)+len(detail)+10)
	b = append(b, bodyVersion)
	for _, s := range [...]string{fields, purpose, outcome, channel, detail} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

var errBody = errors.New("audit: malformed entry body")

func decodeBody(b []byte) (parts [5]string, err error) {
	if len(b) == 0 || b[0] != bodyVersion {
		return parts, errBody
	}
	b = b[1:]
	for i := range parts {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return parts, errBody
		}
		parts[i] = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	if len(b) != 0 {
		return parts, errBody
	}
	return parts, nil
}

// decodeCanonical decodes b and insists it is exactly what encodeBody would
// write (minimal varints), so one entry has one encoding.
func decodeCanonical(b []byte) ([5]string, error) {
	parts, err := decodeBody(b)
	if err != nil {
		return parts, err
	}
	if string(encodeBody(parts[0], parts[1], parts[2], parts[3], parts[4])) != string(b) {
		return parts, errBody
	}
	return parts, nil
}

// canonical appends the entry's canonical encoding to dst: a version tag,
// fixed-width integers and length-prefixed strings, so no two different
// entries encode alike. The hash chain covers exactly these bytes.
func (r *row) canonical(dst []byte) []byte {
	dst = append(dst, "GVA2"...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.seq))
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.at))
	for _, s := range [...]string{r.actor, r.action, r.subject} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	dst = binary.AppendUvarint(dst, uint64(len(r.body)))
	return append(dst, r.body...)
}

func (r *row) entry() (Entry, error) {
	parts, err := decodeCanonical(r.body)
	if err != nil {
		return Entry{}, fmt.Errorf("audit: entry %d: %w", r.seq, err)
	}
	e := Entry{
		Seq: r.seq, At: time.UnixMicro(r.at).UTC(), Actor: r.actor, Action: r.action, Subject: r.subject,
		Purpose: parts[1], Outcome: parts[2], Channel: parts[3],
	}
	if parts[0] != "" {
		e.Fields = strings.Split(parts[0], ",")
	}
	if parts[4] != "" && parts[4] != "{}" {
		if err := json.Unmarshal([]byte(parts[4]), &e.Detail); err != nil {
			return Entry{}, fmt.Errorf("audit: entry %d detail: %w", r.seq, err)
		}
	}
	return e, nil
}

const rowColumns = `seq, at, actor, action, subject_id, body, hash`

func scanRow(rows *sql.Rows, r *row) error {
	if err := rows.Scan(&r.seq, &r.at, &r.actor, &r.action, &r.subject, &r.body, &r.hash); err != nil {
		return fmt.Errorf("audit: read entry: %w", err)
	}
	return nil
}
