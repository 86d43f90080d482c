// Package format validates, normalises and masks the values of personal
// information (PI) fields by their format kind, as named in the catalog
// (internal/catalog/SCHEMA.md).
//
// Every function here treats its input as PI: no error returned by this
// package ever contains the value it was given, only a stable code and a
// fixed message in Chinese and English, so errors are safe to log and to show.
package format

import "slices"

// Kind is the format of a catalog field's value, such as "mobile" or "id_number".
type Kind string

// The format kinds of SCHEMA.md.
const (
	// KindMobile is a mainland China mobile number (11 digits).
	KindMobile Kind = "mobile"
	// KindPersonName is a person's name in Han or Latin letters.
	KindPersonName Kind = "person_name"
	// KindGender is 男, 女 or 未知.
	KindGender Kind = "gender"
	// KindYearMonth is a year and month, YYYY-MM.
	KindYearMonth Kind = "year_month"
	// KindDate is a calendar date, YYYY-MM-DD.
	KindDate Kind = "date"
	// KindCity is a city name.
	KindCity Kind = "city"
	// KindAddress is a postal address.
	KindAddress Kind = "address"
	// KindEmail is an e-mail address without a display name.
	KindEmail Kind = "email"
	// KindIDNumber is an 18-character resident identity card number (GB 11643).
	KindIDNumber Kind = "id_number"
	// KindBankCard is a bank card number (12–19 digits, Luhn).
	KindBankCard Kind = "bank_card"
	// KindBankName is the name of a bank.
	KindBankName Kind = "bank_name"
	// KindUSCC is a unified social credit code (GB 32100-2015).
	KindUSCC Kind = "uscc"
	// KindIP is an IPv4 or IPv6 address.
	KindIP Kind = "ip"
	// KindDeviceID is an IMEI, an Android ID or a MAC address.
	KindDeviceID Kind = "device_id"
	// KindText is free text of up to 20,000 characters; newlines and tabs allowed.
	KindText Kind = "text"
	// KindShortText is free text of up to 128 characters on one line.
	KindShortText Kind = "short_text"
	// KindMoneyFen is an amount of money in fen, a non-negative decimal integer.
	KindMoneyFen Kind = "money_fen"
	// KindGeoArea is the name of an area (province, city, district).
	KindGeoArea Kind = "geo_area"
	// KindGeoPoint is a "lat,lng" pair of decimal degrees.
	KindGeoPoint Kind = "geo_point"
	// KindKeyword is a search or job keyword.
	KindKeyword Kind = "keyword"
	// KindUsername is a log-in or display user name.
	KindUsername Kind = "username"
	// KindAccount is an account identifier on another service (payment, social).
	KindAccount Kind = "account"
	// KindJSON is a JSON object or array of up to 64 KiB.
	KindJSON Kind = "json"
	// KindScore is an integer score from 0 to 1000.
	KindScore Kind = "score"
	// KindURL is an absolute http or https URL.
	KindURL Kind = "url"
)

// allKinds lists the kinds in SCHEMA.md order.
var allKinds = []Kind{
	KindMobile, KindPersonName, KindGender, KindYearMonth, KindDate, KindCity,
	KindAddress, KindEmail, KindIDNumber, KindBankCard, KindBankName, KindUSCC,
	KindIP, KindDeviceID, KindText, KindShortText, KindMoneyFen, KindGeoArea,
	KindGeoPoint, KindKeyword, KindUsername, KindAccount, KindJSON, KindScore,
	KindURL,
}

// Kinds returns every format kind, in the order SCHEMA.md lists them.
// The caller may modify the returned slice.
func Kinds() []Kind { return slices.Clone(allKinds) }

// ParseKind returns the Kind named s, or an *Error with code CodeUnknownKind.
// The error does not repeat s.
func ParseKind(s string) (Kind, error) {
	k := Kind(s)
	if _, ok := specs[k]; !ok {
		return "", newError("", CodeUnknownKind, msgUnknownKind)
	}
	return k, nil
}

// String returns the kind's name.
func (k Kind) String() string { return string(k) }

// Known reports whether k is one of the kinds of SCHEMA.md.
func (k Kind) Known() bool {
	_, ok := specs[k]
	return ok
}
