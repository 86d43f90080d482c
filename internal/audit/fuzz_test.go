package audit

import (
	"bytes"
	"testing"
)

// FuzzDecodeBody: decoding never panics, and whatever decodes re-encodes to
// the same bytes (the body encoding is canonical).
func FuzzDecodeBody(f *testing.F) {
	f.Add(encodeBody("mobile,name", "job_matching", "ok", "api", `{"record":"main"}`))
	f.Add([]byte{1, 0, 0, 0, 0, 0})
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, b []byte) {
		parts, err := decodeCanonical(b)
		if err != nil {
			return
		}
		if again := encodeBody(parts[0], parts[1], parts[2], parts[3], parts[4]); !bytes.Equal(again, b) {
			t.Fatalf("decode/encode of %x gives %x", b, again)
		}
	})
}
