package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// progress shows a live counter on a terminal and stays quiet when the
// output is piped or redirected, so logs and scripts see only results.
type progress struct {
	w     io.Writer
	tty   bool
	label string
	start time.Time
	last  time.Time
	shown bool
}

func newProgress(w io.Writer, label string) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progress{w: w, tty: tty, label: label, start: time.Now()}
}

// update shows done of total, at most ten times a second.
func (p *progress) update(done, total int64) {
	if !p.tty {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && done < total {
		return
	}
	p.last = now
	rate := float64(done) / max(now.Sub(p.start).Seconds(), 1e-3)
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	fmt.Fprintf(p.w, "\r%s %d/%d (%.0f%%, %.0f/s)   ", p.label, done, total, pct, rate)
	p.shown = true
}

// finish ends the progress line.
func (p *progress) finish() {
	if p.shown {
		fmt.Fprintln(p.w)
	}
}
