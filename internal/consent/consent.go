// Package consent answers the decision point's question — may this
// subject's PI be used for this purpose, for this recipient? — from the
// real consent state, and records every consent act with its evidence.
//
// Consent is kept per subject and scope. A scope is one thing a person can
// agree to on its own (CON-5, no bundling):
//
//	policy            the privacy policy as a whole, which covers the basic
//	                  function (job-information exchange, CAT-2)
//	function:<id>     an extended business function and its purposes
//	sensitive:<id>    the separate consent for the sensitive PI that
//	                  function uses (CON-6)
//	recipient:<id>    providing PI to a third party: a registry recipient,
//	                  or an employer organisation a worker applied to
//	processor:<id>    entrusting PI to a processor or an embedded SDK
//
// A consent given under a policy version older than the latest material
// change no longer counts (CON-3). Purposes resting on a legal basis other
// than consent answer Exception and name the basis (CON-13).
package consent

import (
	"context"
	"maps"
	"slices"
	"strings"

	"gigvault/internal/policy"
)

// Scope kinds and the policy scope.
const (
	ScopePolicy    = "policy"
	KindFunction   = "function"
	KindSensitive  = "sensitive"
	KindRecipient  = "recipient"
	KindProcessor  = "processor"
	scopeSeparator = ":"
)

// Scope builds "kind:id".
func Scope(kind, id string) string { return kind + scopeSeparator + id }

// SplitScope returns a scope's kind and ID ("policy" has no ID).
func SplitScope(scope string) (kind, id string) {
	if scope == ScopePolicy {
		return ScopePolicy, ""
	}
	kind, id, _ = strings.Cut(scope, scopeSeparator)
	return kind, id
}

// Query is what the decision point asks.
type Query struct {
	Subject   string
	Purpose   string
	Sensitive bool   // the fields include sensitive PI (CON-6)
	Recipient string // a provision to this recipient scope, e.g. "recipient:<org>"; "" when none
}

// Answer is the consent state for a query, the legal basis when the
// purpose rests on an exception, and the scopes still missing.
type Answer struct {
	State   policy.Consent
	Basis   string   // set with policy.Exception: which exception (CON-13)
	Missing []string // scopes the subject has not (or no longer) agreed to
}

// Source is what the decision point asks. *Store answers from the
// database; Fixed answers from a map in tests.
type Source interface {
	Check(ctx context.Context, q Query) (Answer, error)
}

// Exceptions are the purposes that rest on a legal basis other than
// consent (CON-13), each with the basis recorded when processing relies on
// it: legal obligations (answering a person's own rights requests is one),
// the security of the service the subject uses, and serving the person's
// own customer-service requests, which is necessary to perform the
// contract with them.
var Exceptions = map[string]string{
	"legal_compliance":      "legal_obligation",
	"security_risk_control": "service_security",
	"rights_request":        "legal_obligation",
	"customer_service":      "contract",
}

// LegalBasis lists the exception purposes, sorted.
var LegalBasis = slices.Sorted(maps.Keys(Exceptions))

// Fixed is a Source with one answer per purpose, for tests.
type Fixed map[string]policy.Consent

// Check answers from the map; a purpose not in it has no consent.
func (f Fixed) Check(_ context.Context, q Query) (Answer, error) {
	if c, ok := f[q.Purpose]; ok {
		a := Answer{State: c}
		if c == policy.Exception {
			a.Basis = Exceptions[q.Purpose]
		}
		if c != policy.Granted && c != policy.Exception {
			a.Missing = []string{q.Purpose}
		}
		return a, nil
	}
	return Answer{State: policy.NoConsent, Missing: []string{q.Purpose}}, nil
}
