// Package verify checks a person's identity against an authoritative
// source (GIG-5): the name and resident ID number (2 factors, 二要素), plus
// a bank card (3 factors, 三要素), plus a mainland mobile number (4 factors,
// 四要素). It accepts no biometrics at all (ENC-6): no face image, liveness
// video or fingerprint ever enters gigvault through it.
//
// # Design
//
// A Request carries a Level and the factors; Request.Check validates and
// normalises them with internal/format and refuses any factor the level
// does not need, so that a provider never receives more personal
// information than the check requires (data minimisation). Every Verifier
// calls Check itself, so nothing unchecked goes over the wire.
//
// A Verifier answers with a Result. A check that ran and failed — the name
// does not match the ID number, the card is not that person's — is a Result
// with Passed false and a stable Reason code, not an error. Errors are for
// checks that did not run: errs.Invalid for a bad request, errs.RateLimited
// (with RetryAfter) when the provider throttles, errs.Unavailable when the
// provider or the network fails or the caller's context ends; the last two
// are worth retrying later.
//
// Two verifiers are provided:
//
//   - Sandbox, for development and tests: it behaves like a provider —
//     latency, throttling, failures — with outcomes fixed per identity by a
//     fixture of synthetic identities (sandbox_fixture.yaml, embedded) and,
//     for any other identity, by a digest of its ID number. It never
//     contacts anyone.
//   - HTTP, for production: JSON over HTTPS to a provider or to an adapter
//     in front of one, as described in docs/verifier-http.md.
//
// # Personal information
//
// The factors are personal information, the ID number and the bank card
// sensitive personal information. Every error returned by this package is an
// *errs.Error that names the field at fault but never contains a factor's
// value or text echoed by a provider; nothing here logs a factor; Request
// prints and logs without its values (String, GoString, LogValue); the
// sandbox keeps keyed digests of the factors, not the factors; and provider
// references never embed them.
package verify

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"gigvault/internal/errs"
	"gigvault/internal/format"
)

// Level is how many factors a verification checks.
type Level int

// The levels.
const (
	Level2 Level = 2 // name + resident ID number (二要素)
	Level3 Level = 3 // + bank card (三要素)
	Level4 Level = 4 // + mainland mobile number (四要素)
)

// The JSON field names of the request, also used as errs.Error.Field.
const (
	FieldLevel    = "level"
	FieldName     = "name"
	FieldIDNumber = "id_number"
	FieldBankCard = "bank_card"
	FieldMobile   = "mobile"
)

// The stable reason codes of a failed Result.
const (
	ReasonMismatch          = "mismatch"            // name and ID number do not belong together
	ReasonIDNotFound        = "id_not_found"        // no such ID number at the authority
	ReasonCardNotMatching   = "card_not_matching"   // the bank card is not this person's
	ReasonMobileNotMatching = "mobile_not_matching" // the mobile number is not registered to this person
)

// Reason codes of errors from this package (errs.Error.Reason), besides the
// format codes (format.CodeInvalidIDNumber, …) of an invalid factor.
const (
	ReasonInvalidLevel          = "invalid_level"
	ReasonMissingFactor         = "missing_factor"
	ReasonFactorNotNeeded       = "factor_not_needed"
	ReasonBiometricsNotAccepted = "biometrics_not_accepted"
	ReasonProviderRefused       = "provider_refused" // the provider answered 400/422 to a request Check accepted
)

// Valid reports whether l is Level2, Level3 or Level4.
func (l Level) Valid() bool { return l >= Level2 && l <= Level4 }

// String returns "2", "3" or "4", or "invalid".
func (l Level) String() string {
	if !l.Valid() {
		return "invalid"
	}
	return string(rune('0' + l))
}

// ParseLevel parses "2", "3" or "4" (surrounding spaces ignored). Any other
// text is an errs.Invalid for field "level".
func ParseLevel(s string) (Level, error) {
	switch strings.TrimSpace(s) {
	case "2":
		return Level2, nil
	case "3":
		return Level3, nil
	case "4":
		return Level4, nil
	}
	return 0, errLevel()
}

// factorOrder is every factor field, in request order.
var factorOrder = [...]string{FieldName, FieldIDNumber, FieldBankCard, FieldMobile}

// Factors returns the factor field names level checks, in request order —
// for example ["name", "id_number", "bank_card"] for Level3 — or nil for an
// invalid level. The caller may modify the slice.
func Factors(level Level) []string {
	if !level.Valid() {
		return nil
	}
	return append([]string(nil), factorOrder[:level]...)
}

// needs reports whether level checks field.
func needs(level Level, field string) bool {
	for _, f := range factorOrder[:level] {
		if f == field {
			return true
		}
	}
	return false
}

// fieldKind is the format kind of each factor field.
var fieldKind = map[string]format.Kind{
	FieldName:     format.KindPersonName,
	FieldIDNumber: format.KindIDNumber,
	FieldBankCard: format.KindBankCard,
	FieldMobile:   format.KindMobile,
}

// fieldLabel is how messages name each field: zh-CN, English.
var fieldLabel = map[string][2]string{
	FieldName:     {"姓名", "name"},
	FieldIDNumber: {"身份证号码", "ID number"},
	FieldBankCard: {"银行卡号", "bank card number"},
	FieldMobile:   {"手机号码", "mobile number"},
}

// Request is one identity verification: the level and its factors. A
// factor the level does not need must be empty.
type Request struct {
	Level    Level  `json:"level"`
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
	BankCard string `json:"bank_card,omitempty"`
	Mobile   string `json:"mobile,omitempty"`
}

// value returns the factor named field.
func (r *Request) value(field string) *string {
	switch field {
	case FieldName:
		return &r.Name
	case FieldIDNumber:
		return &r.IDNumber
	case FieldBankCard:
		return &r.BankCard
	case FieldMobile:
		return &r.Mobile
	}
	return nil
}

// Check validates r and returns it normalised: the name trimmed, the ID
// number with an upper-case X, the card and the mobile number as bare
// digits (see format.Normalize). It refuses, in this order:
//
//   - a level other than 2, 3 or 4 (field "level", reason "invalid_level");
//   - any non-empty factor the level does not need — send only the factors
//     this level needs (reason "factor_not_needed");
//   - a needed factor that is empty or blank (reason "missing_factor", the
//     field also in Missing);
//   - a needed factor that is not valid (reason: the format code, such as
//     "invalid_id_number" for a wrong check character).
//
// Errors are *errs.Error with code errs.Invalid naming the JSON field; they
// never contain a factor's value. Check is idempotent: checking its output
// again returns the same request.
func (r Request) Check() (Request, error) {
	if !r.Level.Valid() {
		return Request{}, errLevel()
	}
	for _, f := range factorOrder {
		if !needs(r.Level, f) && *r.value(f) != "" {
			return Request{}, errNotNeeded(f)
		}
	}
	out := Request{Level: r.Level}
	for _, f := range factorOrder[:r.Level] {
		v := *r.value(f)
		if v == "" {
			return Request{}, errMissing(f)
		}
		n, err := format.Normalize(fieldKind[f], v)
		if err != nil {
			var fe *format.Error
			if !errors.As(err, &fe) { // cannot happen: format returns *format.Error
				return Request{}, errs.New(errs.Invalid, f, fieldLabel[f][0]+"格式不正确", fieldLabel[f][1]+" is not valid").
					With("invalid", nil, "")
			}
			if fe.Code == format.CodeEmpty {
				return Request{}, errMissing(f)
			}
			return Request{}, errFormat(f, fe)
		}
		*out.value(f) = n
	}
	return out, nil
}

// present returns the names of the non-empty factors of r, in request order.
func (r Request) present() []string {
	var out []string
	for _, f := range factorOrder {
		if *r.value(f) != "" {
			out = append(out, f)
		}
	}
	return out
}

// String describes r without its values, e.g.
// "verify.Request{level=3 factors=[name id_number bank_card]}", so that
// printing a request by mistake leaks nothing.
func (r Request) String() string {
	return "verify.Request{level=" + r.Level.String() + " factors=[" + strings.Join(r.present(), " ") + "]}"
}

// GoString is String, so that %#v does not print the values either.
func (r Request) GoString() string { return r.String() }

// LogValue logs the level and the names of the factors present, never their values.
func (r Request) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("level", r.Level.String()),
		slog.String("factors", strings.Join(r.present(), ",")),
	)
}

// Result is the answer to a verification that ran.
type Result struct {
	Level  Level
	Passed bool
	// Reason is "" when Passed, else one of the Reason constants:
	// "mismatch", "id_not_found", "card_not_matching", "mobile_not_matching".
	Reason string
	// Provider is the Verifier's Name.
	Provider string
	// ProviderRef is the provider's reference of this check, for support
	// and reconciliation; printable ASCII, never containing a factor.
	ProviderRef string
	// At is when the answer arrived.
	At time.Time
}

// Verifier checks identities. Implementations are safe for concurrent use.
type Verifier interface {
	// Verify checks r.Check()'s normalised factors. A check that ran is a
	// Result, passed or not; an error is an *errs.Error: errs.Invalid from
	// Check (or a provider refusing the request), errs.RateLimited with
	// RetryAfter, or errs.Unavailable (provider, network, timeout, the
	// context ending — errors.Is finds ctx.Err()).
	Verify(ctx context.Context, r Request) (Result, error)
	// Name identifies the verifier in results, logs and metrics.
	Name() string
}

// DescribeReason returns the zh-CN and English texts to show a person whose
// verification failed with reason; an unknown reason gets a generic text.
func DescribeReason(reason string) (zh, en string) {
	switch reason {
	case "":
		return "实名核验通过", "identity verified"
	case ReasonMismatch:
		return "姓名与身份证号码不一致", "the name does not match the ID number"
	case ReasonIDNotFound:
		return "身份证号码不存在或无法核验", "the ID number was not found"
	case ReasonCardNotMatching:
		return "银行卡与身份信息不一致", "the bank card does not belong to this person"
	case ReasonMobileNotMatching:
		return "手机号码与身份信息不一致", "the mobile number is not registered to this person"
	}
	return "实名核验未通过", "identity verification failed"
}

// validReason reports whether s is a reason a Result at level may carry.
func validReason(level Level, s string) bool {
	switch s {
	case ReasonMismatch, ReasonIDNotFound:
		return true
	case ReasonCardNotMatching:
		return level >= Level3
	case ReasonMobileNotMatching:
		return level >= Level4
	}
	return false
}

// biometricMarkers are the substrings of a request key that mark it as
// biometric data or raw media of a person, compared with the key in lower
// case with '_', '-', '.' and spaces removed. Matching is deliberately
// broad: a false positive only refuses a key no verification request has.
var biometricMarkers = []string{
	"face", "facial", "portrait", "photo", "selfie", "image", "img", "picture", "video", "audio",
	"liveness", "livedetect", "alive",
	"finger", "thumb", "iris", "retina", "eye",
	"voice", "speaker",
	"palm", "vein", "gait", "dna", "biometric",
	"人脸", "面部", "脸", "照片", "相片", "自拍", "头像", "视频", "音频", "活体",
	"指纹", "虹膜", "视网膜", "声纹", "掌纹", "静脉", "步态", "基因", "生物特征", "生物识别",
}

// RejectBiometrics refuses a request body carrying biometric data (ENC-6):
// keys are its top-level JSON keys, and any that looks biometric — face,
// face_image, photo, selfie, liveness, fingerprint, iris, voiceprint, palm,
// and so on, in any case and as any part of the key, in English or Chinese
// — makes it an errs.Invalid with reason "biometrics_not_accepted". Field
// is the first such key when it is a plain identifier (ASCII letters,
// digits, '_', '-', '.', at most 64), else empty. Call it before decoding
// the body into a Request, so a face image is refused outright rather than
// silently dropped.
func RejectBiometrics(keys []string) error {
	for _, k := range keys {
		if !looksBiometric(k) {
			continue
		}
		field := ""
		if plainKey(k) {
			field = k
		}
		return errs.New(errs.Invalid, field,
			"不接受人脸、指纹等生物识别信息：实名核验只需提交姓名、身份证号码以及所选级别需要的银行卡号和手机号码",
			"biometric data such as face images or fingerprints is not accepted: identity verification needs only the name, the ID number and, depending on the level, a bank card and a mobile number").
			With(ReasonBiometricsNotAccepted, nil, "")
	}
	return nil
}

// looksBiometric reports whether a key contains a biometric marker.
func looksBiometric(key string) bool {
	k := strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', '.', ' ', '\u3000':
			return -1
		}
		return r
	}, strings.ToLower(key))
	for _, m := range biometricMarkers {
		if strings.Contains(k, m) {
			return true
		}
	}
	return false
}

// plainKey reports whether a key is safe to put in an error's Field.
func plainKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Errors. Each call builds a new *errs.Error; none carries a factor.

func errLevel() *errs.Error {
	return errs.New(errs.Invalid, FieldLevel,
		"核验级别无效：应为 2、3 或 4（二要素、三要素或四要素）",
		"invalid verification level: must be 2, 3 or 4 factors").
		With(ReasonInvalidLevel, nil, "")
}

func errNotNeeded(field string) *errs.Error {
	l := fieldLabel[field]
	return errs.New(errs.Invalid, field,
		"本级别核验不需要"+l[0]+"，请只提交本级别所需的信息",
		l[1]+" is not needed at this level: send only the factors this level needs").
		With(ReasonFactorNotNeeded, nil, "")
}

func errMissing(field string) *errs.Error {
	l := fieldLabel[field]
	return errs.New(errs.Invalid, field, "请填写"+l[0], l[1]+" is required").
		With(ReasonMissingFactor, []string{field}, "")
}

// errFormat turns a format error into one naming the field. The format
// package's messages are fixed texts without the value.
func errFormat(field string, fe *format.Error) *errs.Error {
	l := fieldLabel[field]
	zh := fe.MessageZh
	if !strings.Contains(zh, l[0]) {
		zh = l[0] + "：" + zh
	}
	return errs.New(errs.Invalid, field, zh, l[1]+" "+fe.Message).With(fe.Code, nil, "")
}

func errUnavailable(cause error) *errs.Error {
	return errs.Wrap(errs.Unavailable, "", "实名核验服务暂时不可用，请稍后再试",
		"identity verification service unavailable, try again later", cause)
}

func errRateLimited(cause error) *errs.Error {
	return errs.Wrap(errs.RateLimited, "", "实名核验请求过于频繁，请稍后再试",
		"too many identity verification requests, try again later", cause)
}
