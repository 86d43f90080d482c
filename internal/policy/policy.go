// Package policy is gigvault's decision point: one pure function, Decide,
// that says whether an actor may perform an action on personal information
// for a purpose, given the actor's roles, the data's catalog labels, the
// subject's consent state and any approval on file. It answers allow, mask,
// deny or needs-approval with a stable reason code (ACC-1 to ACC-8, CON-5,
// CON-9, CON-13).
//
// Decide does no I/O: callers gather the facts (roles from the session,
// labels from the catalog, consent from the consent store, approvals from
// the approval store), and every decision is then audited by the caller.
// Being pure, it is tested exhaustively over roles × actions × labels ×
// consent states × relations.
package policy

import (
	"slices"
)

// Role is a staff, worker or employer role (ACC-1).
type Role string

// The roles.
const (
	Worker         Role = "worker"
	EmployerMember Role = "employer_member"
	SecurityAdmin  Role = "security_admin"
	AuditAdmin     Role = "audit_admin"
	SystemAdmin    Role = "system_admin"
	DataOperator   Role = "data_operator"
	DPO            Role = "dpo" // 个人信息保护负责人
	Support        Role = "support"
	// KeyOfficer holds a Shamir share of the platform's contract signing
	// key; two officers together unseal it (ENC-7).
	KeyOfficer Role = "key_officer"
)

// Roles lists every role.
var Roles = []Role{Worker, EmployerMember, SecurityAdmin, AuditAdmin, SystemAdmin, DataOperator, DPO, Support, KeyOfficer}

// Action is what the actor wants to do.
type Action string

// The actions. The first group touches personal information.
const (
	Read       Action = "read"        // see values, masked
	Reveal     Action = "reveal"      // see one value whole
	Write      Action = "write"       // create or correct values
	Erase      Action = "erase"       // delete a person's values
	Export     Action = "export"      // copy many records out (ACC-5)
	BulkModify Action = "bulk_modify" // change many records at once (ACC-5)
	Download   Action = "download"    // download a file of records (ACC-5)

	AuditSearch      Action = "audit_search"      // AUD-5
	Approve          Action = "approve"           // decide someone else's approval request
	ManageStaff      Action = "manage_staff"      // create, disable, grant roles
	ResetCredentials Action = "reset_credentials" // another staff member's password or TOTP
	ManageKeys       Action = "manage_keys"       // rotation, unsealing
)

// Actions lists every action.
var Actions = []Action{Read, Reveal, Write, Erase, Export, BulkModify, Download, AuditSearch, Approve, ManageStaff, ResetCredentials, ManageKeys}

// touchesPI reports whether an action reaches personal information.
func touchesPI(a Action) bool {
	switch a {
	case Read, Reveal, Write, Erase, Export, BulkModify, Download:
		return true
	}
	return false
}

// bulk reports whether an action works on many records (ACC-5).
func bulk(a Action) bool { return a == Export || a == BulkModify || a == Download }

// Relation is how the actor stands to the data subject.
type Relation string

// The relations.
const (
	None   Relation = "none"   // a stranger to the subject: staff, or another user
	Self   Relation = "self"   // the actor is the subject
	Shared Relation = "shared" // the subject shared this data with the actor's organisation (an application)
	// ContactGranted: the subject also agreed to be contacted by the
	// actor's organisation, which may then see their contact details whole.
	ContactGranted Relation = "contact_granted"
	// Published: the subject made their résumé public, for verified
	// employers to find (GIG-2): read, masked, and nothing more.
	Published Relation = "published"
)

// Relations lists every relation.
var Relations = []Relation{None, Self, Shared, ContactGranted, Published}

// PurposeRights is the catalog purpose of data-subject rights requests; a
// person reading or copying their own data uses it for every field.
const PurposeRights = "rights_request"

// Consent is the subject's consent state for the purpose (CON-5, CON-9, CON-13).
type Consent string

// The consent states.
const (
	Granted   Consent = "granted"
	Refused   Consent = "refused"
	Withdrawn Consent = "withdrawn"
	NoConsent Consent = "none"      // never asked or never answered
	Exception Consent = "exception" // a recorded legal-basis exception (CON-13)
)

// Consents lists every consent state.
var Consents = []Consent{Granted, Refused, Withdrawn, NoConsent, Exception}

// Field is a field's security labels, from the catalog (ACC-3).
type Field struct {
	Name      string
	Level     int // 1 (sensitive PI and secrets), 2, 3
	Sensitive bool
	Purposes  []string // what the catalog allows it to be used for
}

// Approval is an approval on file for this very request.
type Approval struct {
	Action Action
	// Valid: approved by someone other than the requester, not expired and
	// not yet used. The approval store establishes it.
	Valid bool
}

// Request is everything Decide looks at.
type Request struct {
	Roles    []Role
	Relation Relation
	Action   Action
	Fields   []Field
	Purpose  string
	Consent  Consent

	Records   int // how many records a bulk action touches
	BulkLimit int // above this many, a bulk action needs an approval (ACC-5)

	Reason      string // why a value is revealed (ACC-6)
	RevealsUsed int    // reveals by this actor in the current window
	RevealLimit int    // reveals allowed per window before a DPO approval is needed

	Approval *Approval

	// Recipient is the third party a provision goes to, as a consent
	// scope ("recipient:<id>"). Decide ignores it; the consent state the
	// caller gathers must then cover that recipient too (SHR-5).
	Recipient string
}

// Effect is the outcome.
type Effect string

// The effects.
const (
	Allow         Effect = "allow"          // go ahead, values whole where the action shows values
	Mask          Effect = "mask"           // go ahead, values masked by the catalog
	Deny          Effect = "deny"           // refused
	NeedsApproval Effect = "needs_approval" // refused until a second person approves (ACC-5)
)

// Decision is Decide's answer: an effect, a stable reason code, and what is
// missing when the answer is no.
type Decision struct {
	Effect  Effect
	Reason  string
	Missing []string
	// Basis names the legal-basis exception an allowed access relies on
	// (CON-13). Decide leaves it empty; the caller that knows the
	// subject's consent state fills it in, so the audit entry records it.
	Basis string
}

// Reason codes. Stable: the API and the audit log carry them.
const (
	ReasonRoleConflict       = "role_conflict"
	ReasonUnknown            = "unknown_role_or_action"
	ReasonNotPermitted       = "not_permitted"
	ReasonPurposeUndeclared  = "purpose_not_declared"
	ReasonConsentRequired    = "consent_required"
	ReasonReasonRequired     = "reason_required"
	ReasonRevealLimit        = "reveal_limit"
	ReasonBulkApproval       = "bulk_needs_approval"
	ReasonSelf               = "own_data"
	ReasonRole               = "role_permits"
	ReasonLegalBasis         = "legal_basis_exception"
	ReasonApproved           = "approved"
	ReasonSensitiveForbidden = "sensitive_not_permitted"
)

// conflicting are the ACC-1 pairs that one account may never hold together.
var conflicting = [][2]Role{
	{AuditAdmin, SystemAdmin}, {AuditAdmin, DataOperator},
	{SecurityAdmin, SystemAdmin}, {SecurityAdmin, DataOperator},
	{KeyOfficer, SystemAdmin}, // who runs the servers does not also hold a key share
}

// CheckRoles reports whether a set of roles may be held by one account
// (ACC-1): the audit and security administrators are never also system
// administrators or data operators, and staff roles never mix with worker
// or employer roles (no shared accounts, ACC-4).
func CheckRoles(roles []Role) (string, bool) {
	for _, c := range conflicting {
		if slices.Contains(roles, c[0]) && slices.Contains(roles, c[1]) {
			return ReasonRoleConflict, false
		}
	}
	staff, user := false, false
	for _, r := range roles {
		switch r {
		case Worker, EmployerMember:
			user = true
		case SecurityAdmin, AuditAdmin, SystemAdmin, DataOperator, DPO, Support, KeyOfficer:
			staff = true
		default:
			return ReasonUnknown, false
		}
	}
	if staff && user {
		return ReasonRoleConflict, false
	}
	return "", true
}

// adminActions says which role may perform each non-PI action.
var adminActions = map[Action][]Role{
	AuditSearch:      {AuditAdmin},
	Approve:          {DPO, SecurityAdmin},
	ManageStaff:      {SecurityAdmin},
	ResetCredentials: {SecurityAdmin},
	ManageKeys:       {SecurityAdmin},
}

// staffPI says which staff roles may perform each PI action on other
// people's data (least privilege, ACC-2). Security, audit and system
// administrators have no access to personal information at all.
var staffPI = map[Action][]Role{
	Read:       {Support, DataOperator, DPO},
	Reveal:     {Support, DataOperator, DPO},
	Write:      {Support, DataOperator},
	Erase:      {DPO},
	Export:     {DataOperator, DPO},
	BulkModify: {DataOperator},
	Download:   {DataOperator, DPO},
}

// Decide is the decision point. It is pure: same request, same decision.
func Decide(r Request) Decision {
	if why, ok := CheckRoles(r.Roles); !ok {
		return Decision{Effect: Deny, Reason: why}
	}
	if !slices.Contains(Actions, r.Action) || !slices.Contains(Relations, r.Relation) || len(r.Roles) == 0 {
		return Decision{Effect: Deny, Reason: ReasonUnknown}
	}
	if !touchesPI(r.Action) {
		if hasAny(r.Roles, adminActions[r.Action]) {
			return Decision{Effect: Allow, Reason: ReasonRole}
		}
		return Decision{Effect: Deny, Reason: ReasonNotPermitted}
	}
	// Every field must be declared for the purpose (CAT-2, CON-4) — except
	// when people exercise their rights over their own data (DSR-1 to
	// DSR-4): the right of access covers every field held about them.
	var undeclared []string
	ownRights := r.Purpose == PurposeRights && r.Relation == Self && isUser(r.Roles)
	for _, f := range r.Fields {
		if !ownRights && !slices.Contains(f.Purposes, r.Purpose) {
			undeclared = append(undeclared, f.Name)
		}
	}
	if r.Purpose == "" || len(r.Fields) == 0 || len(undeclared) > 0 {
		return Decision{Effect: Deny, Reason: ReasonPurposeUndeclared, Missing: undeclared}
	}
	// The subject's own data: seen whole, corrected, erased, copied (DSR-1..5).
	if r.Relation == Self && hasAny(r.Roles, []Role{Worker, EmployerMember}) {
		if r.Action == BulkModify {
			return Decision{Effect: Deny, Reason: ReasonNotPermitted}
		}
		return Decision{Effect: Allow, Reason: ReasonSelf}
	}
	if d, ok := decideOthers(r); !ok {
		return d
	}
	// Consent, or a recorded legal-basis exception (CON-5, CON-9, CON-13).
	// Erasure is the exception: deleting never needs the subject's consent,
	// and is most needed once it is withdrawn (DSR-4).
	reason := ReasonRole
	switch {
	case r.Action == Erase, r.Consent == Granted:
	case r.Consent == Exception:
		reason = ReasonLegalBasis
	default:
		return Decision{Effect: Deny, Reason: ReasonConsentRequired, Missing: []string{r.Purpose}}
	}
	approved := r.Approval != nil && r.Approval.Valid && r.Approval.Action == r.Action
	switch {
	case r.Action == Reveal:
		if len([]rune(r.Reason)) < 2 {
			return Decision{Effect: Deny, Reason: ReasonReasonRequired}
		}
		if isUser(r.Roles) {
			return Decision{Effect: Allow, Reason: reason}
		}
		if r.RevealsUsed >= r.RevealLimit && !approved {
			return Decision{Effect: NeedsApproval, Reason: ReasonRevealLimit}
		}
		if approved {
			reason = ReasonApproved
		}
		return Decision{Effect: Allow, Reason: reason}
	case bulk(r.Action):
		if r.Records > r.BulkLimit && !approved {
			return Decision{Effect: NeedsApproval, Reason: ReasonBulkApproval}
		}
		if approved {
			reason = ReasonApproved
		}
		if r.Action == BulkModify {
			return Decision{Effect: Allow, Reason: reason}
		}
		return Decision{Effect: Mask, Reason: reason} // exports are masked by default (ACC-6)
	case r.Action == Read:
		return Decision{Effect: Mask, Reason: reason}
	}
	return Decision{Effect: Allow, Reason: reason}
}

// decideOthers checks whether the actor's roles and relation permit the
// action on someone else's data at all.
func decideOthers(r Request) (Decision, bool) {
	if isUser(r.Roles) {
		// Another user's data only through what the subject shared with the
		// actor's organisation: read masked; values whole only after the
		// subject agreed to be contacted.
		if !hasAny(r.Roles, []Role{EmployerMember}) || (r.Relation != Shared && r.Relation != ContactGranted && r.Relation != Published) {
			return Decision{Effect: Deny, Reason: ReasonNotPermitted}, false
		}
		if r.Relation == Published && r.Action != Read {
			return Decision{Effect: Deny, Reason: ReasonNotPermitted}, false
		}
		switch r.Action {
		case Read:
			return Decision{}, true
		case Reveal:
			// Which fields: those the catalog declares for the purpose,
			// already checked; typically the contact number.
			if r.Relation != ContactGranted {
				return Decision{Effect: Deny, Reason: ReasonNotPermitted}, false
			}
			return Decision{}, true
		}
		return Decision{Effect: Deny, Reason: ReasonNotPermitted}, false
	}
	if !hasAny(r.Roles, staffPI[r.Action]) {
		return Decision{Effect: Deny, Reason: ReasonNotPermitted}, false
	}
	// Support may correct ordinary data, not sensitive PI (ACC-2, ACC-8).
	if r.Action == Write && !hasAny(r.Roles, []Role{DataOperator}) {
		for _, f := range r.Fields {
			if f.Sensitive {
				return Decision{Effect: Deny, Reason: ReasonSensitiveForbidden, Missing: []string{f.Name}}, false
			}
		}
	}
	return Decision{}, true
}

func isUser(roles []Role) bool { return hasAny(roles, []Role{Worker, EmployerMember}) }

func hasAny(have, want []Role) bool {
	for _, r := range want {
		if slices.Contains(have, r) {
			return true
		}
	}
	return false
}
