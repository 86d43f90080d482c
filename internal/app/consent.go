package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"gigvault/internal/consent"
	"gigvault/internal/errs"
	"gigvault/internal/functions"
	"gigvault/internal/jobs"
	"gigvault/internal/policydoc"
	"gigvault/internal/receipt"
	"gigvault/internal/sharing"
	"gigvault/internal/store"
	"gigvault/internal/thirdparty"
)

// DefaultController is the controller named on consent receipts when the
// configuration names none: the operator of the demo privacy policy (004).
var DefaultController = receipt.Controller{
	PIIController: "福建坤慧网络科技有限公司 (Fujian Kunhui Network Technology Co., Ltd.)",
	Contact:       "个人信息保护负责人 Personal Information Protection Officer",
	Address: receipt.Address{StreetAddress: "福建省福州市仓山区建新镇金工路2号福州海峡创意产业园9号楼2层9201-1单元",
		AddressLocality: "福州市", AddressRegion: "福建省", AddressCountry: "CN"},
	Email: "zhaitask@163.com",
	Phone: "400-168-9788",
}

// policies adapts the published privacy-policy versions and their notices
// to what the consent service needs.
type policies struct {
	st  *policydoc.Store
	src policydoc.Sources
	db  *store.DB
}

func (p policies) MaterialFloor(ctx context.Context) (int64, string, error) {
	return p.st.MaterialFloor(ctx)
}

func (p policies) Current(ctx context.Context) (string, int64, error) {
	v, err := p.st.Current(ctx)
	if err != nil {
		return "", 0, err
	}
	return v.Version, v.Seq, nil
}

// Notice builds the notice for a scope. An employer organisation a worker
// applies to is a recipient not in the registry: its notice names the
// organisation and the résumé fields provided.
func (p policies) Notice(ctx context.Context, version, scope string) (consent.Notice, error) {
	kind, id := consent.SplitScope(scope)
	var n policydoc.Notice
	if kind == consent.KindRecipient {
		if _, ok := p.src.ThirdParty.Entry(id); !ok {
			var name string
			err := p.db.QueryRow(ctx, `SELECT name FROM organisations WHERE id = ?`, id).Scan(&name)
			if errors.Is(err, sql.ErrNoRows) {
				return consent.Notice{}, errs.New(errs.Invalid, "scope", "未知的接收方", "unknown recipient")
			}
			if err != nil {
				return consent.Notice{}, fmt.Errorf("app: employer notice: %w", err)
			}
			n = policydoc.EmployerNotice(version, id, name, EmployerFields(), p.src.Catalog)
			return toNotice(n, []string{"resume_sharing"}, name, p), nil
		}
	}
	n, err := policydoc.NoticeFor(p.src, version, scope)
	if err != nil {
		return consent.Notice{}, err
	}
	third := ""
	if kind == consent.KindRecipient || kind == consent.KindProcessor {
		if e, ok := p.src.ThirdParty.Entry(id); ok {
			third = e.Name
		}
	}
	return toNotice(n, policydoc.ScopePurposes(p.src, scope), third, p), nil
}

func toNotice(n policydoc.Notice, purposes []string, third string, p policies) consent.Notice {
	out := consent.Notice{Scope: n.Scope, PolicyVersion: n.PolicyVersion, TextZh: n.TextZh, TextEn: n.TextEn, Purposes: purposes,
		Fields: n.Fields, ThirdParty: third, Bytes: n.Bytes()}
	for _, f := range n.Fields {
		if cf, ok := p.src.Catalog.Field(f); ok && cf.Sensitive {
			out.Sensitive = append(out.Sensitive, f)
		}
	}
	return out
}

// EmployerFields are the résumé fields an application provides to the
// employer: the basic function's necessary résumé (CAT-2).
func EmployerFields() []string { return append([]string(nil), functions.ResumeFields...) }

// openConsent loads the function and third-party registries, publishes the
// first privacy-policy version if none is, and wires the consent store and
// service, the sharing ledger and the platform store.
func (c *Core) openConsent() error {
	cfg := c.Cfg
	ctx := context.Background()
	var err error
	if cfg.FunctionsFile != "" {
		if c.Functions, err = functions.Load(cfg.FunctionsFile, c.Catalog); err != nil {
			return err
		}
	} else if err := safely("the embedded business-function registry does not fit the catalog; give --functions-file", func() {
		c.Functions = functions.Default(c.Catalog)
	}); err != nil {
		return err
	}
	if cfg.ThirdPartyFile != "" {
		if c.ThirdParty, err = thirdparty.Load(cfg.ThirdPartyFile, c.Catalog); err != nil {
			return err
		}
	} else if err := safely("the embedded third-party registry does not fit the catalog; give --third-party-file", func() {
		c.ThirdParty = thirdparty.Default(c.Catalog)
	}); err != nil {
		return err
	}
	src := policydoc.Sources{Catalog: c.Catalog, Functions: c.Functions, ThirdParty: c.ThirdParty}
	c.Policies = policydoc.NewStore(c.DB, src, c.Suite, cfg.Clock)
	if _, err := c.Policies.EnsureInitial(ctx); err != nil {
		return fmt.Errorf("app: privacy policy: %w", err)
	}
	pol := policies{st: c.Policies, src: src, db: c.DB}
	c.Consent = consent.New(c.DB, cfg.Clock, consent.Options{Functions: c.Functions, Catalog: c.Catalog, Floor: pol, CacheTTL: cfg.ConsentCacheTTL})
	signer, kid := c.Keys.ReceiptSigner()
	ctl := DefaultController
	if cfg.Controller != nil {
		ctl = *cfg.Controller
	}
	base := cfg.PublicURL
	if base == "" {
		base = "https://gigvault.example"
	}
	c.ConsentService = consent.NewService(c.Consent, c.DB, pol, c.Audit, c.Vault, consent.ServiceConfig{
		Suite: c.Suite, Signer: signer, KeyID: kid, Controller: ctl, PolicyURL: base + "/public/privacy-policy",
		Tag: c.Keys.Tag, Catalog: c.Catalog})
	c.Ledger = sharing.New(c.DB, c.Catalog, cfg.Clock)
	c.Jobs = jobs.New(c.DB, cfg.Clock)
	return nil
}

// safely turns the panic of an embedded registry that does not validate
// against a replaced catalog into an error.
func safely(msg string, fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("app: %s: %v", msg, r)
		}
	}()
	fn()
	return nil
}
