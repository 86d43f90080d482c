package httpapi

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const slowHandlerDelay = 300 * time.Millisecond

// slowHandler signals started when a request arrives, sleeps, then answers
// 200 "done" and signals finished.
type slowHandler struct {
	started  chan struct{}
	finished chan struct{}
	done     atomic.Bool
	calls    atomic.Int32
}

func newSlowHandler() *slowHandler {
	return &slowHandler{started: make(chan struct{}), finished: make(chan struct{})}
}

func (h *slowHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if h.calls.Add(1) != 1 {
		http.Error(w, "one request only", http.StatusTeapot)
		return
	}
	close(h.started)
	defer close(h.finished)
	time.Sleep(slowHandlerDelay) // the deliberate slow handler
	h.done.Store(true)
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "done")
}

type runResult struct {
	err error
	// handlerDone is whether the slow handler had finished when Run returned.
	handlerDone bool
}

func listenLocal(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func testServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 5 * time.Second}
}

// wait receives from c or fails the test after a generous bound, so a hung
// Run fails rather than stalls the suite.
func wait[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

type clientResult struct {
	status int
	body   string
	err    error
}

func getAsync(client *http.Client, url string) <-chan clientResult {
	c := make(chan clientResult, 1)
	go func() {
		resp, err := client.Get(url)
		if err != nil {
			c <- clientResult{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		c <- clientResult{status: resp.StatusCode, body: string(b), err: err}
	}()
	return c
}

func TestRunDrains(t *testing.T) {
	h := newSlowHandler()
	ln := listenLocal(t)
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runc := make(chan runResult, 1)
	go func() {
		err := Run(ctx, testServer(h), ln, 5*time.Second, nil)
		runc <- runResult{err: err, handlerDone: h.done.Load()}
	}()

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resc := getAsync(&http.Client{Transport: tr}, "http://"+addr+"/slow")
	wait(t, h.started, "the request to reach the handler")
	cancel()

	res := wait(t, resc, "the in-flight response")
	if res.err != nil || res.status != http.StatusOK || res.body != "done" {
		t.Errorf("in-flight request = %d %q, %v; want 200 \"done\"", res.status, res.body, res.err)
	}
	rr := wait(t, runc, "Run to return")
	if rr.err != nil {
		t.Errorf("Run = %v, want nil after a clean drain", rr.err)
	}
	if !rr.handlerDone {
		t.Error("Run returned before the in-flight handler finished")
	}

	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		conn.Close()
		t.Fatal("new connection accepted after shutdown")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial after shutdown: %v, want connection refused", err)
	}
}

func TestRunDrainTimeout(t *testing.T) {
	h := newSlowHandler()
	ln := listenLocal(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runc := make(chan runResult, 1)
	go func() {
		err := Run(ctx, testServer(h), ln, slowHandlerDelay/6, nil)
		runc <- runResult{err: err, handlerDone: h.done.Load()}
	}()

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resc := getAsync(&http.Client{Transport: tr}, "http://"+ln.Addr().String()+"/slow")
	wait(t, h.started, "the request to reach the handler")
	cancel()

	rr := wait(t, runc, "Run to return")
	if !errors.Is(rr.err, context.DeadlineExceeded) {
		t.Errorf("Run = %v, want context.DeadlineExceeded when the drain times out", rr.err)
	}
	if rr.handlerDone {
		t.Error("Run waited for the handler despite the shorter drain timeout")
	}
	// Run closed what was left: the straggler's connection is cut rather
	// than left serving after Run (and its caller's cleanup) returned.
	if res := wait(t, resc, "the cut-off response"); res.err == nil {
		t.Errorf("request outlived a timed-out drain: got %d %q", res.status, res.body)
	}
	wait(t, h.finished, "the handler to finish")
}

func TestRunAlreadyCancelled(t *testing.T) {
	ln := listenLocal(t)
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	runc := make(chan error, 1)
	go func() { runc <- Run(ctx, testServer(http.NotFoundHandler()), ln, time.Second, nil) }()
	if err := wait(t, runc, "Run to return"); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Error("listener still open after Run returned")
	}
}

func TestRunServeError(t *testing.T) {
	ln := listenLocal(t)
	ln.Close()
	runc := make(chan error, 1)
	go func() { runc <- Run(context.Background(), testServer(http.NotFoundHandler()), ln, time.Second, nil) }()
	err := wait(t, runc, "Run to return")
	if err == nil || errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Run on a closed listener = %v, want the Serve error", err)
	}
	if !errors.Is(err, net.ErrClosed) {
		t.Errorf("Run on a closed listener = %v, want net.ErrClosed", err)
	}
}
