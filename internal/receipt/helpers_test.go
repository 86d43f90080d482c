package receipt

import (
	"encoding/hex"
	"testing"

	"gigvault/internal/cryptox"
)

// Fixed, public test keys — never use them for anything real. The SM2 key
// is the sample private key of GB/T 32918; the P-256 key is the one of
// RFC 6979 appendix A.2.5.
const (
	testSMKey  = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8"
	testAESKey = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721"

	testSMKeyID  = "test-sm-2025"
	testAESKeyID = "test-aes-2025"
)

type testKey struct {
	suite  cryptox.Suite
	kid    string
	signer cryptox.Signer
}

func fixedKey(tb testing.TB, suite cryptox.Suite) testKey {
	tb.Helper()
	h, kid := testSMKey, testSMKeyID
	if suite.Name() == "aes" {
		h, kid = testAESKey, testAESKeyID
	}
	priv, err := hex.DecodeString(h)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := suite.ParseSigner(priv)
	if err != nil {
		tb.Fatal(err)
	}
	return testKey{suite, kid, s}
}

// keyring returns a lookup that knows the given keys by their key IDs.
func keyring(keys ...testKey) func(string) (cryptox.Verifier, bool) {
	m := map[string]cryptox.Verifier{}
	for _, k := range keys {
		m[k.kid] = k.signer
	}
	return func(kid string) (cryptox.Verifier, bool) {
		v, ok := m[kid]
		return v, ok
	}
}

// bothKeys returns the fixed keys of both suites and a lookup for them.
func bothKeys(tb testing.TB) (sm, aes testKey, lookup func(string) (cryptox.Verifier, bool)) {
	sm, aes = fixedKey(tb, cryptox.SM{}), fixedKey(tb, cryptox.AES{})
	return sm, aes, keyring(sm, aes)
}

// example is the receipt of testdata/example.json: a worker agrees to
// nearby-job recommendations, which use location (sensitive PI).
func example() *Receipt {
	return &Receipt{
		Version:          Version,
		Jurisdiction:     "CN",
		ConsentTimestamp: 1767225600, // 2026-01-01T00:00:00Z
		CollectionMethod: "in-app consent dialog",
		ConsentReceiptID: "0194a0b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b",
		Language:         "zh-CN",
		PIIPrincipalID:   "0193f1e2-0a4b-7c5d-9e6f-7a8b9c0d1e2f",
		PIIControllers: []Controller{{
			PIIController: "Gigvault Example Co., Ltd.",
			Contact:       "Personal Information Protection Officer",
			Address: Address{
				StreetAddress:   "1 Example Road",
				AddressLocality: "Fuzhou",
				AddressRegion:   "Fujian",
				PostalCode:      "350000",
				AddressCountry:  "CN",
			},
			Email: "privacy@gigvault.example",
			Phone: "400-000-0000",
			URL:   "https://gigvault.example/",
		}},
		PolicyURL: "https://gigvault.example/privacy/2026.1",
		Services: []Service{{
			Service: "nearby_jobs",
			Purposes: []Purpose{{
				Purpose:         "recommend jobs near the worker",
				PurposeCategory: []string{"personalised recommendations"},
				ConsentType:     ConsentTypeExplicit,
				PIICategory:     []string{"precise location"},
				PrimaryPurpose:  true,
				Termination:     "until withdrawn; location deleted within 15 days",
			}},
		}},
		Sensitive:     true,
		SPICat:        []string{"precise location"},
		PolicyVersion: "2026.1",
		Event:         EventAgree,
		NoticeDigest:  NoticeDigest(cryptox.SM{}, []byte("附近工作需要使用您的精确位置。")),
		Channel:       "app",
	}
}

// minorExample is a guardian's consent for a 13-year-old, with a third party.
func minorExample() *Receipt {
	r := example()
	r.Event = EventWithdraw
	r.Guardian = &Guardian{NameMasked: MaskName("王小明"), Relationship: "parent", SubjectRef: "0193f1e2-0a4b-7c5d-9e6f-000000000001"}
	r.Services[0].Purposes[0].ThirdPartyDisclosure = true
	r.Services[0].Purposes[0].ThirdPartyName = "Example Maps SDK"
	return r
}

// small is a minimal valid receipt, to keep byte-by-byte tests fast.
func small() *Receipt {
	r := example()
	r.CollectionMethod = "app"
	r.PIIControllers[0] = Controller{PIIController: "G", Contact: "DPO", Address: Address{StreetAddress: "1 Rd", AddressCountry: "CN"},
		Email: "p@g.cn", Phone: "400"}
	r.PolicyURL = "https://g.cn/p"
	r.Services[0] = Service{Service: "s", Purposes: []Purpose{{Purpose: "p", PurposeCategory: []string{"c"}, ConsentType: ConsentTypeExplicit,
		PIICategory: []string{"l"}, Termination: "t", ThirdPartyDisclosure: true, ThirdPartyName: "x"}}}
	r.SPICat = []string{"l"}
	r.Guardian = &Guardian{NameMasked: "*", Relationship: "parent", SubjectRef: "0193f1e2-0a4b-7c5d-9e6f-000000000001"}
	return r
}

func mustSign(tb testing.TB, r *Receipt, k testKey) []byte {
	tb.Helper()
	s, err := Sign(r, k.signer, k.kid, k.suite)
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	b, err := s.Marshal()
	if err != nil {
		tb.Fatalf("marshal: %v", err)
	}
	return b
}
