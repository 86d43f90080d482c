package sealkey

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gigvault/internal/clock"
	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// fixture is a platform signing key wrapped under a KEK split 3-of-5.
type fixture struct {
	suite   cryptox.Suite
	priv    []byte
	wrapped []byte
	shares  []Share
	clk     *clock.Fake
	opened  [][]byte // private keys open has unwrapped
	seen    [][]byte // copies of the secrets open received
	keep    [][]byte // the secrets open received (to check they are wiped)
}

func newFixture(t *testing.T, n, threshold int) *fixture {
	t.Helper()
	suite := cryptox.SM{}
	signer, err := suite.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	kek := cryptox.NewKey(suite)
	fx := &fixture{suite: suite, priv: signer.PrivateBytes(), clk: clock.NewFake(t0)}
	fx.wrapped, err = Wrap(suite, kek, fx.priv, []byte("platform-signing"))
	if err != nil {
		t.Fatal(err)
	}
	fx.shares, err = SplitSet(SetIDFor(suite, signer.PublicBytes()), kek, n, threshold)
	if err != nil {
		t.Fatal(err)
	}
	cryptox.Wipe(kek)
	return fx
}

func (fx *fixture) unsealer() *Unsealer {
	return NewUnsealer(fx.shares[0].SetID, fx.clk, 0, func(secret []byte) error {
		fx.keep = append(fx.keep, secret)
		fx.seen = append(fx.seen, bytes.Clone(secret))
		priv, err := Unwrap(fx.suite, secret, fx.wrapped, []byte("platform-signing"))
		if err != nil {
			return err
		}
		fx.opened = append(fx.opened, priv)
		return nil
	})
}

func mustSubmit(t *testing.T, u *Unsealer, officer string, s Share) Progress {
	t.Helper()
	p, err := u.Submit(officer, s)
	if err != nil {
		t.Fatalf("%s: %v", officer, err)
	}
	return p
}

func TestUnsealerHappyPath(t *testing.T) {
	fx := newFixture(t, 5, 3)
	u := fx.unsealer()
	st := u.Status()
	if !st.Sealed || st.Shares != 0 || st.Threshold != 0 || !st.ExpiresAt.IsZero() {
		t.Fatalf("initial status %+v", st)
	}
	p := mustSubmit(t, u, "alice", fx.shares[4])
	if !p.Sealed || p.Shares != 1 || p.Threshold != 3 || !p.ExpiresAt.Equal(t0.Add(DefaultTTL)) || fmt.Sprint(p.Officers) != "[alice]" {
		t.Fatalf("after 1: %+v", p)
	}
	fx.clk.Advance(time.Minute)
	p = mustSubmit(t, u, "bob", fx.shares[0])
	if !p.Sealed || p.Shares != 2 || fmt.Sprint(p.Officers) != "[alice bob]" || !p.ExpiresAt.Equal(t0.Add(DefaultTTL)) {
		t.Fatalf("after 2: %+v", p)
	}
	if len(fx.opened) != 0 {
		t.Fatal("opened below the threshold")
	}
	fx.clk.Advance(time.Minute)
	p = mustSubmit(t, u, "carol", fx.shares[2])
	if p.Sealed || p.Shares != 0 || !p.UnsealedAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("after 3: %+v", p)
	}
	if len(fx.opened) != 1 || !bytes.Equal(fx.opened[0], fx.priv) {
		t.Fatal("open did not get the key")
	}
	if !bytes.Equal(fx.keep[0], make([]byte, len(fx.keep[0]))) {
		t.Fatal("the combined secret was not wiped")
	}
	if u.Status().Sealed {
		t.Fatal("status still sealed")
	}
	_, err := u.Submit("dave", fx.shares[1])
	wantReason(t, err, errs.Conflict, ReasonAlreadyUnsealed)

	u.Reset()
	if st := u.Status(); !st.Sealed || !st.UnsealedAt.IsZero() {
		t.Fatalf("after Reset: %+v", st)
	}
}

func TestUnsealerRefusals(t *testing.T) {
	fx := newFixture(t, 5, 3)
	other := newFixture(t, 5, 3)
	u := fx.unsealer()
	mustSubmit(t, u, "alice", fx.shares[0])

	// The same officer twice, even with another share or another case.
	_, err := u.Submit("alice", fx.shares[1])
	wantReason(t, err, errs.Conflict, ReasonOfficerRepeated)
	_, err = u.Submit("ALICE", fx.shares[1])
	wantReason(t, err, errs.Conflict, ReasonOfficerRepeated)
	// The same share from another officer.
	_, err = u.Submit("bob", fx.shares[0])
	wantReason(t, err, errs.Conflict, ReasonShareRepeated)
	// A share of another set.
	_, err = u.Submit("bob", other.shares[1])
	wantReason(t, err, errs.Invalid, ReasonWrongSet)
	// A share claiming another threshold.
	s := fx.shares[1]
	s.Threshold = 2
	_, err = u.Submit("bob", s)
	wantReason(t, err, errs.Invalid, ReasonThresholdMismatch)
	// A share of another length.
	s = fx.shares[1]
	s.payload = append(bytes.Clone(s.payload), 7)
	_, err = u.Submit("bob", s)
	wantReason(t, err, errs.Invalid, ReasonLengthMismatch)
	// Malformed input.
	_, err = u.Submit("", fx.shares[1])
	wantReason(t, err, errs.Invalid, ReasonInvalidOfficer)
	_, err = u.Submit("bob\n", fx.shares[1])
	wantReason(t, err, errs.Invalid, ReasonInvalidOfficer)
	_, err = u.Submit("bob", Share{})
	wantReason(t, err, errs.Invalid, ReasonShareFormat)

	// None of it changed the progress.
	st := u.Status()
	if st.Shares != 1 || fmt.Sprint(st.Officers) != "[alice]" {
		t.Fatalf("status %+v", st)
	}
	mustSubmit(t, u, "bob", fx.shares[1])
	mustSubmit(t, u, "carol", fx.shares[3])
	if u.Status().Sealed {
		t.Fatal("not unsealed")
	}
}

func TestUnsealerFirstShareOfWrongSet(t *testing.T) {
	fx := newFixture(t, 3, 2)
	other := newFixture(t, 3, 2)
	u := fx.unsealer()
	_, err := u.Submit("alice", other.shares[0])
	wantReason(t, err, errs.Invalid, ReasonWrongSet)
	if st := u.Status(); st.Shares != 0 {
		t.Fatalf("status %+v", st)
	}
}

func TestUnsealerExpiry(t *testing.T) {
	fx := newFixture(t, 5, 2)
	u := NewUnsealer(fx.shares[0].SetID, fx.clk, 5*time.Minute, func([]byte) error { return nil })
	mustSubmit(t, u, "alice", fx.shares[0])
	fx.clk.Advance(5*time.Minute - time.Second)
	if st := u.Status(); st.Shares != 1 || !st.ExpiresAt.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("before expiry: %+v", st)
	}
	fx.clk.Advance(time.Second)
	if st := u.Status(); st.Shares != 0 || st.Threshold != 0 || len(st.Officers) != 0 || !st.ExpiresAt.IsZero() || !st.Sealed {
		t.Fatalf("after expiry: %+v", st)
	}
	// The expired share was wiped and alice may submit again: a new
	// attempt starts now.
	p := mustSubmit(t, u, "bob", fx.shares[1])
	if p.Shares != 1 || !p.ExpiresAt.Equal(fx.clk.Now().Add(5*time.Minute)) {
		t.Fatalf("new attempt: %+v", p)
	}
	fx.clk.Advance(10 * time.Minute)
	p = mustSubmit(t, u, "alice", fx.shares[0])
	if p.Shares != 1 || fmt.Sprint(p.Officers) != "[alice]" || !p.Sealed {
		t.Fatalf("expired progress was used: %+v", p)
	}
	p = mustSubmit(t, u, "bob", fx.shares[1])
	if p.Sealed {
		t.Fatalf("not unsealed: %+v", p)
	}
}

func TestUnsealerOpenFailureResets(t *testing.T) {
	fx := newFixture(t, 5, 2)
	other := newFixture(t, 5, 2)
	u := fx.unsealer()
	// A share of another split relabelled with this set ID (or a forged
	// share): it passes the metadata checks, but the combined secret is
	// wrong and the wrapped key refuses it.
	forged := other.shares[1]
	forged.SetID = fx.shares[0].SetID
	if forged.x() == fx.shares[0].x() {
		forged = other.shares[2]
		forged.SetID = fx.shares[0].SetID
	}
	mustSubmit(t, u, "alice", fx.shares[0])
	p, err := u.Submit("mallory", forged)
	wantReason(t, err, errs.Integrity, ReasonOpenFailed)
	if !errors.Is(err, cryptox.ErrOpen) {
		t.Fatalf("%v does not wrap the open error", err)
	}
	if !p.Sealed || p.Shares != 0 || len(p.Officers) != 0 {
		t.Fatalf("progress not reset: %+v", p)
	}
	if len(fx.seen) != 1 || !bytes.Equal(fx.keep[0], make([]byte, len(fx.keep[0]))) {
		t.Fatal("the wrong secret was not wiped")
	}
	// The officers start again, and the same officers may resubmit.
	mustSubmit(t, u, "alice", fx.shares[0])
	p = mustSubmit(t, u, "bob", fx.shares[3])
	if p.Sealed || len(fx.opened) != 1 || !bytes.Equal(fx.opened[0], fx.priv) {
		t.Fatalf("retry: %+v", p)
	}

	// An error from open is passed on, wrapped.
	boom := errors.New("boom")
	u2 := NewUnsealer(fx.shares[0].SetID, fx.clk, 0, func([]byte) error { return boom })
	mustSubmit(t, u2, "alice", fx.shares[0])
	_, err = u2.Submit("bob", fx.shares[1])
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if st := u2.Status(); !st.Sealed || st.Shares != 0 {
		t.Fatalf("status %+v", st)
	}
}

func TestUnsealerWipesShares(t *testing.T) {
	fx := newFixture(t, 3, 2)
	u := NewUnsealer(fx.shares[0].SetID, fx.clk, time.Minute, func([]byte) error { return nil })
	mustSubmit(t, u, "alice", fx.shares[0])
	u.mu.Lock()
	held := u.shares[0].payload
	u.mu.Unlock()
	if &held[0] == &fx.shares[0].payload[0] {
		t.Fatal("the Unsealer keeps the caller's slice")
	}
	fx.clk.Advance(time.Minute)
	u.Status()
	if !bytes.Equal(held, make([]byte, len(held))) {
		t.Fatal("expired share not wiped")
	}
}

func TestUnsealerConcurrent(t *testing.T) {
	fx := newFixture(t, 16, 4)
	u := fx.unsealer()
	var wg sync.WaitGroup
	errc := make(chan error, 32)
	for i := range 16 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := u.Submit(fmt.Sprintf("officer-%d", i), fx.shares[i]); err != nil {
				errc <- err
			}
		}()
		go func() {
			defer wg.Done()
			u.Status()
		}()
	}
	wg.Wait()
	close(errc)
	unsealed := 0
	for err := range errc {
		if !errs.Is(err, errs.Conflict) {
			t.Fatalf("unexpected %v", err)
		}
		unsealed++
	}
	if u.Status().Sealed || len(fx.opened) != 1 || unsealed != 12 {
		t.Fatalf("sealed=%v opened=%d refused=%d", u.Status().Sealed, len(fx.opened), unsealed)
	}
}
