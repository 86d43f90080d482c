package receipt

import (
	"errors"
	"strings"
	"testing"

	"gigvault/internal/format"
)

// idNumber returns a resident ID number with a correct check character.
func idNumber(t *testing.T) string {
	t.Helper()
	body := "11010520120101002"
	c, ok := format.IDCheckChar(body)
	if !ok {
		t.Fatal("IDCheckChar failed")
	}
	return body + string(c)
}

func TestValidate(t *testing.T) {
	id := idNumber(t)
	cases := []struct {
		name  string
		edit  func(r *Receipt)
		field string // "" means valid
	}{
		{"example", func(*Receipt) {}, ""},
		{"minor with guardian", func(r *Receipt) { *r = *minorExample() }, ""},
		{"refuse", func(r *Receipt) { r.Event = EventRefuse }, ""},
		{"not sensitive", func(r *Receipt) { r.Sensitive, r.SPICat = false, nil }, ""},
		{"aes notice digest", func(r *Receipt) { r.NoticeDigest = strings.Repeat("ab", 32) }, ""},
		{"controller landline with country code", func(r *Receipt) { r.PIIControllers[0].Phone = "+86 591 8888 8888" }, ""},
		{"single-rune masked name", func(r *Receipt) { *r = *minorExample(); r.Guardian.NameMasked = "*" }, ""},

		{"nil receipt", nil, "receipt"},
		{"wrong version", func(r *Receipt) { r.Version = "KI-CR-v1.0.0" }, "version"},
		{"missing jurisdiction", func(r *Receipt) { r.Jurisdiction = "" }, "jurisdiction"},
		{"missing collection method", func(r *Receipt) { r.CollectionMethod = "" }, "collectionMethod"},
		{"zero timestamp", func(r *Receipt) { r.ConsentTimestamp = 0 }, "consentTimestamp"},
		{"millisecond timestamp", func(r *Receipt) { r.ConsentTimestamp = 1767225600000 }, "consentTimestamp"},
		{"negative timestamp", func(r *Receipt) { r.ConsentTimestamp = -1 }, "consentTimestamp"},
		{"receipt ID not a UUID", func(r *Receipt) { r.ConsentReceiptID = "receipt-1" }, "consentReceiptID"},
		{"receipt ID upper case", func(r *Receipt) { r.ConsentReceiptID = strings.ToUpper(r.ConsentReceiptID) }, "consentReceiptID"},
		{"principal is a mobile number", func(r *Receipt) { r.PIIPrincipalID = "13800138000" }, "piiPrincipalId"},
		{"principal is an ID number", func(r *Receipt) { r.PIIPrincipalID = id }, "piiPrincipalId"},
		{"principal missing", func(r *Receipt) { r.PIIPrincipalID = "" }, "piiPrincipalId"},
		{"bad language", func(r *Receipt) { r.Language = "Chinese" }, "language"},
		{"empty event", func(r *Receipt) { r.Event = "" }, "event"},
		{"unknown event", func(r *Receipt) { r.Event = "accept" }, "event"},
		{"event wrong case", func(r *Receipt) { r.Event = "Agree" }, "event"},
		{"missing policy version", func(r *Receipt) { r.PolicyVersion = "" }, "policy_version"},
		{"policy version with space", func(r *Receipt) { r.PolicyVersion = "v 1" }, "policy_version"},
		{"bad channel", func(r *Receipt) { r.Channel = "Mobile App" }, "channel"},
		{"short notice digest", func(r *Receipt) { r.NoticeDigest = "abcd" }, "notice_digest"},
		{"upper-case notice digest", func(r *Receipt) { r.NoticeDigest = strings.ToUpper(r.NoticeDigest) }, "notice_digest"},
		{"bad public key", func(r *Receipt) { r.PublicKey = "not hex" }, "publicKey"},
		{"policy URL relative", func(r *Receipt) { r.PolicyURL = "/privacy" }, "policyUrl"},
		{"policy URL javascript", func(r *Receipt) { r.PolicyURL = "javascript:alert(1)" }, "policyUrl"},
		{"policy URL with mobile", func(r *Receipt) { r.PolicyURL = "https://x.example/p?m=13800138000" }, "policyUrl"},
		{"no controllers", func(r *Receipt) { r.PIIControllers = nil }, "piiControllers"},
		{"controller without name", func(r *Receipt) { r.PIIControllers[0].PIIController = "" }, "piiControllers[0].piiController"},
		{"controller contact with mobile", func(r *Receipt) { r.PIIControllers[0].Contact = "Ms Li, 138 0013 8000" }, "piiControllers[0].contact"},
		{"controller mobile phone", func(r *Receipt) { r.PIIControllers[0].Phone = "+86 138-0013-8000" }, "piiControllers[0].phone"},
		{"controller phone with letters", func(r *Receipt) { r.PIIControllers[0].Phone = "call us" }, "piiControllers[0].phone"},
		{"controller bad email", func(r *Receipt) { r.PIIControllers[0].Email = "privacy" }, "piiControllers[0].email"},
		{"controller email is a mobile", func(r *Receipt) { r.PIIControllers[0].Email = "13800138000@163.com" }, "piiControllers[0].email"},
		{"address without country", func(r *Receipt) { r.PIIControllers[0].Address.AddressCountry = "" }, "piiControllers[0].address.addressCountry"},
		{"address with ID number", func(r *Receipt) { r.PIIControllers[0].Address.StreetAddress = "ID " + id }, "piiControllers[0].address.streetAddress"},
		{"no services", func(r *Receipt) { r.Services = nil }, "services"},
		{"service without purposes", func(r *Receipt) { r.Services[0].Purposes = nil }, "services[0].purposes"},
		{"purpose empty", func(r *Receipt) { r.Services[0].Purposes[0].Purpose = "" }, "services[0].purposes[0].purpose"},
		{"purpose with mobile", func(r *Receipt) { r.Services[0].Purposes[0].Purpose = "sms to 13800138000" }, "services[0].purposes[0].purpose"},
		{"purpose with email", func(r *Receipt) { r.Services[0].Purposes[0].Purpose = "mail li@example.com" }, "services[0].purposes[0].purpose"},
		{"purpose with bank card", func(r *Receipt) { r.Services[0].Purposes[0].Purpose = "pay 6222 0212 3456 7890 128" }, "services[0].purposes[0].purpose"},
		{"implicit consent", func(r *Receipt) { r.Services[0].Purposes[0].ConsentType = "IMPLICIT" }, "services[0].purposes[0].consentType"},
		{"no purpose category", func(r *Receipt) { r.Services[0].Purposes[0].PurposeCategory = nil }, "services[0].purposes[0].purposeCategory"},
		{"empty purpose category", func(r *Receipt) { r.Services[0].Purposes[0].PurposeCategory = []string{""} }, "services[0].purposes[0].purposeCategory[0]"},
		{"no PI category", func(r *Receipt) { r.Services[0].Purposes[0].PIICategory = nil }, "services[0].purposes[0].piiCategory"},
		{"no termination", func(r *Receipt) { r.Services[0].Purposes[0].Termination = "" }, "services[0].purposes[0].termination"},
		{"disclosure without third party", func(r *Receipt) { r.Services[0].Purposes[0].ThirdPartyDisclosure = true }, "services[0].purposes[0].thirdPartyName"},
		{"third party without disclosure", func(r *Receipt) { r.Services[0].Purposes[0].ThirdPartyName = "X" }, "services[0].purposes[0].thirdPartyName"},
		{"sensitive without categories", func(r *Receipt) { r.SPICat = nil }, "spiCat"},
		{"categories without sensitive", func(r *Receipt) { r.Sensitive = false }, "spiCat"},
		{"spiCat with ID number", func(r *Receipt) { r.SPICat = []string{id} }, "spiCat[0]"},
		{"guardian full name", func(r *Receipt) { *r = *minorExample(); r.Guardian.NameMasked = "王小明" }, "guardian.name_masked"},
		{"guardian partly masked", func(r *Receipt) { *r = *minorExample(); r.Guardian.NameMasked = "王*明" }, "guardian.name_masked"},
		{"guardian name is a mobile", func(r *Receipt) { *r = *minorExample(); r.Guardian.NameMasked = "13800138000" }, "guardian.name_masked"},
		{"guardian without relationship", func(r *Receipt) { *r = *minorExample(); r.Guardian.Relationship = "" }, "guardian.relationship"},
		{"guardian relationship free text", func(r *Receipt) { *r = *minorExample(); r.Guardian.Relationship = "Mother of the child" }, "guardian.relationship"},
		{"guardian ref is ID number", func(r *Receipt) { *r = *minorExample(); r.Guardian.SubjectRef = id }, "guardian.subject_ref"},
		{"guardian is the subject", func(r *Receipt) { *r = *minorExample(); r.Guardian.SubjectRef = r.PIIPrincipalID }, "guardian.subject_ref"},
		{"invalid UTF-8", func(r *Receipt) { r.CollectionMethod = "a\xffb" }, "collectionMethod"},
		{"control character", func(r *Receipt) { r.CollectionMethod = "a\nb" }, "collectionMethod"},
		{"surrounding space", func(r *Receipt) { r.Jurisdiction = " CN" }, "jurisdiction"},
		{"too long", func(r *Receipt) { r.CollectionMethod = strings.Repeat("长", maxText+1) }, "collectionMethod"},
		{"too many services", func(r *Receipt) {
			for len(r.Services) <= maxItems {
				r.Services = append(r.Services, r.Services[0])
			}
		}, "services"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r *Receipt
			if c.edit != nil {
				r = example()
				c.edit(r)
			}
			err := r.Validate()
			if c.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate = %v, want a *FieldError for %s", err, c.field)
			}
			if fe.Field != c.field {
				t.Fatalf("Validate failed on %s (%s), want %s", fe.Field, fe.Reason, c.field)
			}
		})
	}
}

// Errors name the field but never repeat the PI-looking value.
func TestValidateErrorHasNoPI(t *testing.T) {
	r := example()
	r.Services[0].Purposes[0].Purpose = "call 13800138000"
	err := r.Validate()
	if err == nil || strings.Contains(err.Error(), "13800138000") {
		t.Fatalf("Validate = %v, want an error without the number", err)
	}
}

func TestMaskName(t *testing.T) {
	for in, want := range map[string]string{"王小明": "王**", "李": "*", "John Smith": "J*********"} {
		got := MaskName(in)
		if got != want {
			t.Errorf("MaskName(%q) = %q, want %q", in, got, want)
		}
		if !isMaskedName(got) {
			t.Errorf("isMaskedName(%q) = false", got)
		}
	}
}
