package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestProgressQuietWhenPiped(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, "seeding")
	p.update(5, 10)
	p.update(10, 10)
	p.finish()
	if buf.Len() != 0 {
		t.Fatalf("progress wrote %q to a non-terminal", buf.String())
	}
	p = newProgress(&buf, "seeding")
	p.tty = true // as on a terminal
	p.update(10, 10)
	p.finish()
	if out := buf.String(); !strings.HasPrefix(out, "\rseeding 10/10 (100%") || !strings.HasSuffix(out, "\n") {
		t.Fatalf("terminal progress = %q", out)
	}
}
