// Package receipt builds, signs and verifies consent receipts: the record a
// subject keeps of each consent event (agree, refuse, withdraw) — issue 4,
// item 4.
//
// A receipt follows the Kantara Initiative Consent Receipt Specification
// v1.1 (the camelCase fields) with gigvault extensions in snake_case: the
// privacy-policy version, the event, the guardian who acted for a minor, a
// digest of the notice text shown and the channel.
//
// A receipt never carries personal information about the subject: the PII
// principal is a pseudonymous subject ID, a guardian appears only as a masked
// name, a relationship and a pseudonymous subject reference, and Validate
// refuses any free-text value that looks like a mobile number, a resident ID
// number, an e-mail address or another identifying number.
//
// Signed receipts are files: the canonical JSON (see Canonical) of a Signed
// envelope {"alg","kid","receipt","sig"}, optionally followed by one
// newline. Verify accepts exactly that and nothing else, so any change to a
// receipt file makes it fail. The signature (SM2-SM3 for the "sm" suite,
// ECDSA-P256-SHA256 for "aes", ASN.1 DER, standard base64) covers the bytes
// "gigvault-consent-receipt-v1\n" followed by the canonical JSON of
// {"alg","kid","receipt"}. testdata/example.json is an example signed with
// the public SM2 sample key of GB/T 32918 under key ID test-sm-2025.
package receipt

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"gigvault/internal/cryptox"
	"gigvault/internal/format"
	"gigvault/internal/obs"
)

// Version is the Kantara consent receipt version every receipt declares.
const Version = "KI-CR-v1.1.0"

// ConsentTypeExplicit is the only consent type gigvault records: consent
// counts only when it is an explicit action of the subject or their guardian.
const ConsentTypeExplicit = "EXPLICIT"

// Event is the kind of consent event a receipt records.
type Event string

// The consent events.
const (
	EventAgree    Event = "agree"
	EventRefuse   Event = "refuse"
	EventWithdraw Event = "withdraw"
)

// Receipt is a consent receipt. JSON names follow Kantara v1.1; gigvault's
// extensions are the snake_case fields at the end.
type Receipt struct {
	// Version is the specification version, always Version.
	Version string `json:"version"`
	// Jurisdiction is where the controller is established, e.g. "CN".
	Jurisdiction string `json:"jurisdiction"`
	// ConsentTimestamp is when consent was given, in seconds since the Unix epoch (UTC).
	ConsentTimestamp int64 `json:"consentTimestamp"`
	// CollectionMethod says how consent was collected, e.g. "in-app consent dialog".
	CollectionMethod string `json:"collectionMethod"`
	// ConsentReceiptID is a UUID unique to this receipt.
	ConsentReceiptID string `json:"consentReceiptID"`
	// PublicKey is the lower-case hex public key of the signer. Sign fills
	// it in; it is informational only — Verify trusts the key its caller
	// looks up by key ID, never this field.
	PublicKey string `json:"publicKey,omitempty"`
	// Language is the language of the notice shown, e.g. "zh-CN".
	Language string `json:"language"`
	// PIIPrincipalID is the subject's pseudonymous ID (a UUID), never PI.
	PIIPrincipalID string `json:"piiPrincipalId"`
	// PIIControllers are the controllers the consent was given to.
	PIIControllers []Controller `json:"piiControllers"`
	// PolicyURL is the privacy policy that applies.
	PolicyURL string `json:"policyUrl"`
	// Services are the services and purposes consented to.
	Services []Service `json:"services"`
	// Sensitive says whether sensitive PI is involved; SPICat then names it.
	Sensitive bool `json:"sensitive"`
	// SPICat are the categories of sensitive PI.
	SPICat []string `json:"spiCat,omitempty"`

	// PolicyVersion is the privacy-policy version consented to.
	PolicyVersion string `json:"policy_version"`
	// Event is agree, refuse or withdraw.
	Event Event `json:"event"`
	// Guardian is set when a guardian acted for the subject (a minor).
	Guardian *Guardian `json:"guardian,omitempty"`
	// NoticeDigest is the lower-case hex SM3 or SHA-256 digest of the notice
	// text shown (see NoticeDigest).
	NoticeDigest string `json:"notice_digest"`
	// Channel is where the event happened, e.g. "app", "web", "api".
	Channel string `json:"channel"`
}

// Controller is a Kantara PII controller: an organisation, never a person's
// private contact details.
type Controller struct {
	PIIController string  `json:"piiController"`
	OnBehalf      bool    `json:"onBehalf"`
	Contact       string  `json:"contact"`
	Address       Address `json:"address"`
	Email         string  `json:"email"`
	Phone         string  `json:"phone"`
	URL           string  `json:"piiControllerUrl,omitempty"`
}

// Address is a controller's postal address (schema.org PostalAddress, as in
// Kantara v1.1).
type Address struct {
	StreetAddress   string `json:"streetAddress"`
	AddressLocality string `json:"addressLocality,omitempty"`
	AddressRegion   string `json:"addressRegion,omitempty"`
	PostalCode      string `json:"postalCode,omitempty"`
	AddressCountry  string `json:"addressCountry"`
}

// Service is a service and the purposes consented to for it.
type Service struct {
	Service  string    `json:"service"`
	Purposes []Purpose `json:"purposes"`
}

// Purpose is one purpose of processing within a service.
type Purpose struct {
	Purpose              string   `json:"purpose"`
	PurposeCategory      []string `json:"purposeCategory"`
	ConsentType          string   `json:"consentType"`
	PIICategory          []string `json:"piiCategory"`
	PrimaryPurpose       bool     `json:"primaryPurpose"`
	Termination          string   `json:"termination"`
	ThirdPartyDisclosure bool     `json:"thirdPartyDisclosure"`
	ThirdPartyName       string   `json:"thirdPartyName,omitempty"`
}

// Guardian identifies who consented for a minor without revealing them: a
// masked name (as format.Mask "name" makes it: 张**), the relationship, and
// the guardian's own pseudonymous subject ID.
type Guardian struct {
	NameMasked   string `json:"name_masked"`
	Relationship string `json:"relationship"`
	SubjectRef   string `json:"subject_ref"`
}

// MaskName masks a guardian's name for Guardian.NameMasked.
func MaskName(name string) string {
	m, err := format.Mask("name", name)
	if err != nil { // cannot happen: "name" is a valid spec
		return format.Stars
	}
	return m
}

// NoticeDigest returns the lower-case hex digest of the notice text shown,
// with the suite's hash (SM3 or SHA-256), for Receipt.NoticeDigest.
func NoticeDigest(s cryptox.Suite, notice []byte) string {
	return hex.EncodeToString(cryptox.Digest(s, notice))
}

// ErrInvalid is wrapped by every error Validate returns.
var ErrInvalid = errors.New("invalid consent receipt")

// FieldError says which field of a receipt is invalid and why. It never
// contains the field's value, which may be PI.
type FieldError struct {
	Field  string // JSON path, e.g. services[0].purposes[1].purpose
	Reason string
}

func (e *FieldError) Error() string {
	return "receipt: " + e.Field + ": " + e.Reason
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Limits that keep receipts small and checks cheap.
const (
	maxText     = 512  // runes in a free-text value
	maxURL      = 2048 // bytes in a URL
	maxItems    = 64   // controllers, services, purposes, categories
	minUnixTime = 1420070400
	maxUnixTime = 4102444800 // 2100-01-01T00:00:00Z
)

var (
	reLanguage = regexp.MustCompile(`^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$`)
	reToken    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	reVersion  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)
	reHex      = regexp.MustCompile(`^(?:[0-9a-f]{2})+$`)
)

// fieldKind is how a string field is checked.
type fieldKind int

const (
	kText  fieldKind = iota // free text: no PI-looking values
	kID                     // a canonical UUID (pseudonymous ID)
	kURL                    // an absolute http(s) URL, no PI-looking values
	kEmail                  // an organisation's e-mail address
	kPhone                  // an organisation's phone number: no mobile or ID number
	kHex                    // lower-case hex
)

type field struct {
	path     string
	value    string
	kind     fieldKind
	required bool
}

// fields lists every string of r with how it is checked. Canonical uses it
// to refuse invalid UTF-8; Validate checks each one.
func (r *Receipt) fields() []field {
	fs := []field{
		{"version", r.Version, kText, true},
		{"jurisdiction", r.Jurisdiction, kText, true},
		{"collectionMethod", r.CollectionMethod, kText, true},
		{"consentReceiptID", r.ConsentReceiptID, kID, true},
		{"publicKey", r.PublicKey, kHex, false},
		{"language", r.Language, kText, true},
		{"piiPrincipalId", r.PIIPrincipalID, kID, true},
		{"policyUrl", r.PolicyURL, kURL, true},
		{"policy_version", r.PolicyVersion, kText, true},
		{"event", string(r.Event), kText, true},
		{"notice_digest", r.NoticeDigest, kHex, true},
		{"channel", r.Channel, kText, true},
	}
	for i, c := range r.PIIControllers {
		p := fmt.Sprintf("piiControllers[%d].", i)
		fs = append(fs,
			field{p + "piiController", c.PIIController, kText, true},
			field{p + "contact", c.Contact, kText, true},
			field{p + "address.streetAddress", c.Address.StreetAddress, kText, true},
			field{p + "address.addressLocality", c.Address.AddressLocality, kText, false},
			field{p + "address.addressRegion", c.Address.AddressRegion, kText, false},
			field{p + "address.postalCode", c.Address.PostalCode, kText, false},
			field{p + "address.addressCountry", c.Address.AddressCountry, kText, true},
			field{p + "email", c.Email, kEmail, true},
			field{p + "phone", c.Phone, kPhone, true},
			field{p + "piiControllerUrl", c.URL, kURL, false},
		)
	}
	for i, s := range r.Services {
		p := fmt.Sprintf("services[%d].", i)
		fs = append(fs, field{p + "service", s.Service, kText, true})
		for j, pu := range s.Purposes {
			q := fmt.Sprintf("%spurposes[%d].", p, j)
			fs = append(fs,
				field{q + "purpose", pu.Purpose, kText, true},
				field{q + "consentType", pu.ConsentType, kText, true},
				field{q + "termination", pu.Termination, kText, true},
				field{q + "thirdPartyName", pu.ThirdPartyName, kText, pu.ThirdPartyDisclosure},
			)
			for k, c := range pu.PurposeCategory {
				fs = append(fs, field{fmt.Sprintf("%spurposeCategory[%d]", q, k), c, kText, true})
			}
			for k, c := range pu.PIICategory {
				fs = append(fs, field{fmt.Sprintf("%spiiCategory[%d]", q, k), c, kText, true})
			}
		}
	}
	for i, c := range r.SPICat {
		fs = append(fs, field{fmt.Sprintf("spiCat[%d]", i), c, kText, true})
	}
	if g := r.Guardian; g != nil {
		fs = append(fs,
			field{"guardian.name_masked", g.NameMasked, kText, true},
			field{"guardian.relationship", g.Relationship, kText, true},
			field{"guardian.subject_ref", g.SubjectRef, kID, true},
		)
	}
	return fs
}

// Validate checks that r is a complete, well-formed receipt free of PI:
// required fields present, the event one of agree, refuse and withdraw, the
// timestamp plausible, IDs canonical UUIDs, digests hex, and no free-text
// value that looks like a mobile number, ID number, e-mail address or other
// identifying number. A non-nil error is a *FieldError wrapping ErrInvalid;
// it names the field but never contains its value.
func (r *Receipt) Validate() error {
	if r == nil {
		return &FieldError{"receipt", "missing"}
	}
	bad := func(f, reason string) error { return &FieldError{f, reason} }
	for _, f := range r.fields() {
		if err := checkField(f); err != nil {
			return err
		}
	}
	if r.Version != Version {
		return bad("version", "must be "+Version)
	}
	if r.ConsentTimestamp < minUnixTime || r.ConsentTimestamp >= maxUnixTime {
		return bad("consentTimestamp", "must be seconds since the Unix epoch between 2015 and 2100")
	}
	if !reLanguage.MatchString(r.Language) {
		return bad("language", "must be a language tag such as zh-CN")
	}
	switch r.Event {
	case EventAgree, EventRefuse, EventWithdraw:
	default:
		return bad("event", "must be agree, refuse or withdraw")
	}
	if !reVersion.MatchString(r.PolicyVersion) {
		return bad("policy_version", "must be 1-32 letters, digits, '.', '_' or '-'")
	}
	if !reToken.MatchString(r.Channel) {
		return bad("channel", "must be a lower-case token such as app or web")
	}
	if n := len(r.NoticeDigest); n != 64 {
		return bad("notice_digest", "must be a 32-byte SM3 or SHA-256 digest in hex")
	}
	if n := len(r.PIIControllers); n == 0 || n > maxItems {
		return bad("piiControllers", fmt.Sprintf("must have 1 to %d entries", maxItems))
	}
	if n := len(r.Services); n == 0 || n > maxItems {
		return bad("services", fmt.Sprintf("must have 1 to %d entries", maxItems))
	}
	for i, s := range r.Services {
		p := fmt.Sprintf("services[%d].", i)
		if n := len(s.Purposes); n == 0 || n > maxItems {
			return bad(p+"purposes", fmt.Sprintf("must have 1 to %d entries", maxItems))
		}
		for j, pu := range s.Purposes {
			q := fmt.Sprintf("%spurposes[%d].", p, j)
			if pu.ConsentType != ConsentTypeExplicit {
				return bad(q+"consentType", "must be "+ConsentTypeExplicit)
			}
			if n := len(pu.PurposeCategory); n == 0 || n > maxItems {
				return bad(q+"purposeCategory", fmt.Sprintf("must have 1 to %d entries", maxItems))
			}
			if n := len(pu.PIICategory); n == 0 || n > maxItems {
				return bad(q+"piiCategory", fmt.Sprintf("must have 1 to %d entries", maxItems))
			}
			if !pu.ThirdPartyDisclosure && pu.ThirdPartyName != "" {
				return bad(q+"thirdPartyName", "must be empty without thirdPartyDisclosure")
			}
		}
	}
	if r.Sensitive != (len(r.SPICat) > 0) {
		return bad("spiCat", "must list the sensitive PI categories exactly when sensitive is true")
	}
	if len(r.SPICat) > maxItems {
		return bad("spiCat", fmt.Sprintf("must have at most %d entries", maxItems))
	}
	if g := r.Guardian; g != nil {
		if !isMaskedName(g.NameMasked) {
			return bad("guardian.name_masked", "must be a masked name: at most the first character, then '*'")
		}
		if !reToken.MatchString(g.Relationship) {
			return bad("guardian.relationship", "must be a lower-case token such as parent or legal_guardian")
		}
		if g.SubjectRef == r.PIIPrincipalID {
			return bad("guardian.subject_ref", "must differ from piiPrincipalId")
		}
	}
	return nil
}

// checkField applies the checks every string of its kind needs.
func checkField(f field) error {
	bad := func(reason string) error { return &FieldError{f.path, reason} }
	if f.value == "" {
		if f.required {
			return bad("required")
		}
		return nil
	}
	if !utf8.ValidString(f.value) {
		return bad("not valid UTF-8")
	}
	if strings.IndexFunc(f.value, unicode.IsControl) >= 0 {
		return bad("contains control characters")
	}
	if strings.TrimSpace(f.value) != f.value {
		return bad("has leading or trailing white space")
	}
	switch f.kind {
	case kText:
		if utf8.RuneCountInString(f.value) > maxText {
			return bad(fmt.Sprintf("longer than %d characters", maxText))
		}
		if k := piKind(f.value); k != "" {
			return bad("looks like personal information (" + k + ")")
		}
	case kID:
		u, err := uuid.Parse(f.value)
		if err != nil || u.String() != f.value {
			return bad("must be a pseudonymous ID: a lower-case UUID")
		}
	case kURL:
		if len(f.value) > maxURL {
			return bad(fmt.Sprintf("longer than %d bytes", maxURL))
		}
		u, err := url.Parse(f.value)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return bad("must be an absolute http or https URL")
		}
		if k := piKind(f.value); k != "" {
			return bad("looks like personal information (" + k + ")")
		}
	case kEmail:
		if format.Validate(format.KindEmail, f.value) != nil {
			return bad("must be an e-mail address")
		}
		local, _, _ := strings.Cut(f.value, "@")
		if k := piKind(local); k != "" {
			return bad("looks like personal information (" + k + ")")
		}
	case kPhone:
		if utf8.RuneCountInString(f.value) > 32 || strings.Trim(f.value, "0123456789+-() ") != "" {
			return bad("must be a phone number: digits, spaces and + - ( )")
		}
		if k := piKind(f.value); k == "mobile" || k == "id_number" {
			return bad("looks like personal information (" + k + "); give an organisation's number")
		}
	case kHex:
		if len(f.value) > 512 || !reHex.MatchString(f.value) {
			return bad("must be lower-case hex")
		}
	}
	return nil
}

// piKinds are the markers obs.Redact puts in place of PI-looking values.
var piKinds = []string{"mobile", "id_number", "email", "number", "uscc"}

// piKind returns the kind of PI-looking value s contains, or "" if none,
// using the log redactor's detectors.
func piKind(s string) string {
	out := obs.Redact(s)
	if out == s {
		return ""
	}
	for _, k := range piKinds {
		m := "[redacted:" + k + "]"
		if strings.Count(out, m) > strings.Count(s, m) {
			return k
		}
	}
	return "unknown"
}

// isMaskedName reports whether s is a name masked as MaskName does: "*", or
// one character other than '*' followed only by '*' — nothing more of the
// name is visible.
func isMaskedName(s string) bool {
	if s == "*" || s == format.Stars {
		return true
	}
	first, n := utf8.DecodeRuneInString(s)
	rest := s[n:]
	if first == '*' || rest == "" || strings.Trim(rest, "*") != "" {
		return false
	}
	return unicode.IsLetter(first)
}

// Time returns the consent timestamp as a time.Time in UTC.
func (r *Receipt) Time() time.Time { return time.Unix(r.ConsentTimestamp, 0).UTC() }
