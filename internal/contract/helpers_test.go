package contract

import (
	"encoding/hex"
	"testing"
	"time"

	"gigvault/internal/cryptox"
)

// Fixed, public test keys — never use them for anything real. The worker's
// SM2 key is the sample private key of GB/T 32918; the P-256 key is the one
// of RFC 6979 appendix A.2.5; the platform keys are arbitrary scalars.
const (
	testWorkerSM    = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8"
	testPlatformSM  = "1649ab77a00637bd5e2efe283fbf353534aa7f7cb89463f208ddbc2920bb0da0"
	testWorkerAES   = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721"
	testPlatformAES = "0f4d1a6c5c7e2b3a49586a7b8c9dadbecfd0e1f20314253647586a7b8c9d0e1f"
)

var (
	tFrom    = time.Date(2026, 3, 1, 0, 0, 0, 0, Beijing)
	tUntil   = time.Date(2026, 8, 31, 23, 59, 59, 0, Beijing)
	tCreated = time.Date(2026, 2, 20, 10, 30, 0, 0, time.UTC)
	tSigned  = time.Date(2026, 2, 21, 9, 15, 0, 0, time.UTC)
)

type party struct {
	suite  cryptox.Suite
	signer cryptox.Signer
	keyID  string
}

func fixedParty(tb testing.TB, suite cryptox.Suite, h string) party {
	tb.Helper()
	priv, err := hex.DecodeString(h)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := suite.ParseSigner(priv)
	if err != nil {
		tb.Fatal(err)
	}
	return party{suite, s, KeyID(suite, s.PublicBytes())}
}

func parties(tb testing.TB, suite cryptox.Suite) (worker, platform party) {
	if suite.Name() == "aes" {
		return fixedParty(tb, suite, testWorkerAES), fixedParty(tb, suite, testPlatformAES)
	}
	return fixedParty(tb, suite, testWorkerSM), fixedParty(tb, suite, testPlatformSM)
}

// registry is a trusted-key lookup that knows ps.
func registry(ps ...party) func(string) ([]byte, bool) {
	m := map[string][]byte{}
	for _, p := range ps {
		m[p.keyID] = p.signer.PublicBytes()
	}
	return func(id string) ([]byte, bool) {
		b, ok := m[id]
		return b, ok
	}
}

func exampleTemplate() Template {
	return Template{
		ID:      "tpl-courier",
		Name:    "灵活用工服务协议",
		Version: 3,
		Body: `<h2>第一条 服务内容</h2>
<p>甲方 {{.org}} 委托乙方 {{.worker_name}}（工号 {{.worker_id}}）在 {{.city}} 提供{{.service}}服务。</p>
<h2>第二条 报酬</h2>
<p>报酬为每单人民币 {{.fee}} 元，按周结算。</p>
<ul>
<li>乙方可自主决定接单时间。</li>
<li>甲方不得以任何理由扣押乙方证件。</li>
</ul>
<table>
<tr><th>项目</th><th>金额</th></tr>
<tr><td>基础报酬</td><td>{{.fee}} 元/单</td></tr>
</table>
<p>Both parties agree to the terms above &mdash; 双方同意以上条款。<br>
乙方签名：{{.worker_name}}</p>
`,
	}
}

func exampleVars() map[string]string {
	return map[string]string{
		"org":         "闽江示例科技有限公司",
		"worker_name": "张三",
		"worker_id":   "W-000123",
		"city":        "福州市",
		"service":     "同城配送",
		"fee":         "8.50",
	}
}

func exampleMeta() Meta {
	return Meta{
		ContractID: "CT-2026-000042",
		OrgName:    "闽江示例科技有限公司",
		ValidFrom:  tFrom,
		ValidUntil: tUntil,
		CreatedAt:  tCreated,
	}
}

func mustRender(tb testing.TB) Document {
	tb.Helper()
	d, err := Render(exampleTemplate(), exampleVars(), exampleMeta())
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func mustSign(tb testing.TB, p party, role, signerID string, d Document) Signature {
	tb.Helper()
	s, err := Sign(p.signer, SignedPayload{
		ContractID:     d.Meta().ContractID,
		DocumentDigest: d.Digest(p.suite),
		Party:          role,
		Signer:         signerID,
		KeyID:          p.keyID,
		SignedAt:       tSigned,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// signedFile is the example document signed by both parties.
func signedFile(tb testing.TB, suite cryptox.Suite) (File, party, party) {
	tb.Helper()
	w, p := parties(tb, suite)
	d := mustRender(tb)
	f, err := NewFile(suite, d, mustSign(tb, w, PartyWorker, "W-000123", d), mustSign(tb, p, PartyPlatform, "staff-007", d))
	if err != nil {
		tb.Fatal(err)
	}
	return f, w, p
}
