// Package esign runs electronic contracts (GIG-6) on top of package
// contract: templates kept in the database, contracts an employer offers
// to a worker on an accepted application, and the signing ceremony in
// which the worker signs with a key of their own and the platform
// countersigns with its dual-controlled key (ENC-7).
//
// Where things live:
//   - the rendered document names the worker, so it is a vault value
//     (contract_record) of the worker, written by the caller in the signing
//     transaction;
//   - its digest, the parties' signatures and their public keys are plain
//     rows (contracts, contract_signatures, signing_keys): not personal
//     information, and they outlive the worker's erasure, so a contract the
//     worker downloaded can still be checked;
//   - a worker's private key is sealed under their data key
//     (worker_signing_keys): erasing them shreds it.
package esign

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"gigvault/internal/clock"
	"gigvault/internal/contract"
	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
	"gigvault/internal/keys"
	"gigvault/internal/store"
)

// Contract statuses.
const (
	Offered = "offered"
	Signed  = "signed"
)

// PlatformSigner is the signer ID of the platform's signatures.
const PlatformSigner = "platform"

// SystemVars are the template variables gigvault fills in at signing: the
// worker's verified name, their ID number masked to its region and last
// four characters, and the reference of the verification that proved it.
var SystemVars = []string{"worker_name", "worker_id_masked", "verification_ref"}

// Limits.
const (
	MaxValidity = 3 * 365 * 24 * time.Hour
)

// Service keeps templates and contracts.
type Service struct {
	db    *store.DB
	keys  *keys.Keyring
	suite cryptox.Suite
	clk   clock.Clock
}

// New returns a Service; a nil clock is the wall clock.
func New(db *store.DB, k *keys.Keyring, clk clock.Clock) *Service {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Service{db: db, keys: k, suite: k.Suite(), clk: clk}
}

func (s *Service) now() time.Time { return s.clk.Now().UTC().Truncate(time.Second) }

func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("esign: id: %w", err)
	}
	return id.String(), nil
}

func invalid(field, zh, en string) *errs.Error { return errs.New(errs.Invalid, field, zh, en) }

// Template is a stored template with its variables.
type Template struct {
	contract.Template
	Variables []string  `json:"variables"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateTemplate stores a new version of the template called name. The
// body must use every system variable, so no contract can leave out who
// signs it.
func (s *Service) CreateTemplate(ctx context.Context, name, body, by string) (Template, error) {
	name = strings.TrimSpace(name)
	if n := len([]rune(name)); n < 2 || n > 60 {
		return Template{}, invalid("name", "模板名称须为2至60个字符", "the template name must be 2 to 60 characters")
	}
	vars, err := contract.ParseTemplate(body)
	if err != nil {
		return Template{}, err
	}
	var missing []string
	for _, v := range SystemVars {
		if !slices.Contains(vars, v) {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 {
		return Template{}, invalid("body", "模板须包含签署人变量："+strings.Join(missing, "、"), "the template must use the signer variables: "+strings.Join(missing, ", ")).
			With("system_variables_missing", missing, "")
	}
	id, err := newID()
	if err != nil {
		return Template{}, err
	}
	t := Template{Template: contract.Template{ID: id, Name: name, Body: body}, Variables: vars, CreatedAt: s.now()}
	vj, _ := json.Marshal(vars)
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM contract_templates WHERE name = ?`, name).Scan(&t.Version); err != nil {
			return fmt.Errorf("esign: template: %w", err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO contract_templates (id, name, version, body, variables, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.Name, t.Version, t.Body, string(vj), by, t.CreatedAt.UnixMicro())
		if err != nil {
			return fmt.Errorf("esign: template: %w", err)
		}
		return nil
	})
	if err != nil {
		return Template{}, err
	}
	return t, nil
}

const templateCols = `id, name, version, body, variables, created_at`

func scanTemplate(row interface{ Scan(...any) error }) (Template, error) {
	var t Template
	var vars string
	var at int64
	if err := row.Scan(&t.ID, &t.Name, &t.Version, &t.Body, &vars, &at); err != nil {
		return Template{}, err
	}
	t.CreatedAt = time.UnixMicro(at).UTC()
	return t, json.Unmarshal([]byte(vars), &t.Variables)
}

// GetTemplate returns a template.
func (s *Service) GetTemplate(ctx context.Context, id string) (Template, error) {
	t, err := scanTemplate(s.db.QueryRow(ctx, `SELECT `+templateCols+` FROM contract_templates WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Template{}, errs.New(errs.NotFound, "template_id", "合同模板不存在", "no such contract template")
	}
	if err != nil {
		return Template{}, fmt.Errorf("esign: template: %w", err)
	}
	return t, nil
}

// Templates lists the templates, newest first.
func (s *Service) Templates(ctx context.Context) ([]Template, error) {
	rows, err := s.db.Query(ctx, `SELECT `+templateCols+` FROM contract_templates ORDER BY created_at DESC, id DESC LIMIT 200`)
	if err != nil {
		return nil, fmt.Errorf("esign: templates: %w", err)
	}
	defer rows.Close()
	out := []Template{}
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, fmt.Errorf("esign: templates: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Contract is an offered or signed contract.
type Contract struct {
	ID            string            `json:"id"`
	TemplateID    string            `json:"template_id"`
	ApplicationID string            `json:"application_id"`
	OrgID         string            `json:"org_id"`
	SubjectID     string            `json:"subject_id"`
	Status        string            `json:"status"`
	Variables     map[string]string `json:"variables"`
	Digest        string            `json:"digest,omitempty"`
	ValidFrom     time.Time         `json:"valid_from"`
	ValidUntil    time.Time         `json:"valid_until"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
}

// Offer is what an employer offers.
type Offer struct {
	TemplateID    string
	ApplicationID string
	OrgID         string
	SubjectID     string
	Variables     map[string]string
	ValidFrom     time.Time
	ValidUntil    time.Time
	By            string
}

// checkVars: exactly the template's non-system variables, as plain text.
func checkVars(t Template, vars map[string]string) error {
	for _, v := range t.Variables {
		if slices.Contains(SystemVars, v) {
			if _, ok := vars[v]; ok {
				return invalid("variables."+v, "该变量由系统在签署时填写", "gigvault fills this variable in at signing")
			}
			continue
		}
		if _, ok := vars[v]; !ok {
			return invalid("variables."+v, "缺少模板变量", "the template needs this variable")
		}
	}
	for k := range vars {
		if !slices.Contains(t.Variables, k) {
			return invalid("variables."+k, "模板中没有该变量", "the template has no such variable")
		}
	}
	return nil
}

// Create offers a contract. The window must start today or later, end
// after it starts and last at most MaxValidity. The offer is rendered once
// with placeholder signer values, so a variable the template refuses is
// refused now rather than at signing.
func (s *Service) Create(ctx context.Context, o Offer, orgName string) (Contract, error) {
	t, err := s.GetTemplate(ctx, o.TemplateID)
	if err != nil {
		return Contract{}, err
	}
	if err := checkVars(t, o.Variables); err != nil {
		return Contract{}, err
	}
	now := s.now()
	from, until := o.ValidFrom.UTC().Truncate(time.Second), o.ValidUntil.UTC().Truncate(time.Second)
	if from.Before(now.Add(-24*time.Hour)) || !until.After(from) || until.Sub(from) > MaxValidity {
		return Contract{}, invalid("valid_until", "合同有效期须从今天或以后开始，结束晚于开始，且不超过三年", "the validity must start today or later, end after it starts and last at most three years")
	}
	id, err := newID()
	if err != nil {
		return Contract{}, err
	}
	c := Contract{ID: id, TemplateID: t.ID, ApplicationID: o.ApplicationID, OrgID: o.OrgID, SubjectID: o.SubjectID, Status: Offered,
		Variables: o.Variables, ValidFrom: from, ValidUntil: until, CreatedAt: now, UpdatedAt: now}
	if _, err := s.Render(ctx, c, orgName, map[string]string{"worker_name": "某某", "worker_id_masked": "110101********0000", "verification_ref": "pending"}); err != nil {
		return Contract{}, err
	}
	vj, _ := json.Marshal(c.Variables)
	_, err = s.db.Exec(ctx, `INSERT INTO contracts (id, template_id, application_id, org_id, subject_id, status, variables, valid_from, valid_until, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, c.TemplateID, nullable(c.ApplicationID), c.OrgID, c.SubjectID, c.Status, string(vj),
		from.UnixMicro(), until.UnixMicro(), o.By, now.UnixMicro(), now.UnixMicro())
	if err != nil {
		return Contract{}, fmt.Errorf("esign: create: %w", err)
	}
	return c, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Render renders contract c with the signer values, as it would be signed.
func (s *Service) Render(ctx context.Context, c Contract, orgName string, signer map[string]string) (contract.Document, error) {
	t, err := s.GetTemplate(ctx, c.TemplateID)
	if err != nil {
		return contract.Document{}, err
	}
	vars := maps.Clone(c.Variables)
	if vars == nil {
		vars = map[string]string{}
	}
	for _, k := range SystemVars {
		vars[k] = signer[k]
	}
	return contract.Render(t.Template, vars, contract.Meta{ContractID: c.ID, OrgName: orgName, ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil, CreatedAt: c.CreatedAt})
}

const contractCols = `id, template_id, application_id, org_id, subject_id, status, variables, digest, valid_from, valid_until, created_at, updated_at`

func scanContract(row interface{ Scan(...any) error }) (Contract, error) {
	var c Contract
	var app sql.NullString
	var vars string
	var from, until, created, updated int64
	if err := row.Scan(&c.ID, &c.TemplateID, &app, &c.OrgID, &c.SubjectID, &c.Status, &vars, &c.Digest, &from, &until, &created, &updated); err != nil {
		return Contract{}, err
	}
	c.ApplicationID = app.String
	c.ValidFrom, c.ValidUntil = time.UnixMicro(from).UTC(), time.UnixMicro(until).UTC()
	c.CreatedAt, c.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return c, json.Unmarshal([]byte(vars), &c.Variables)
}

var errNoContract = errs.New(errs.NotFound, "id", "合同不存在", "no such contract")

// Get returns a contract.
func (s *Service) Get(ctx context.Context, id string) (Contract, error) {
	c, err := scanContract(s.db.QueryRow(ctx, `SELECT `+contractCols+` FROM contracts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Contract{}, errNoContract
	}
	if err != nil {
		return Contract{}, fmt.Errorf("esign: contract: %w", err)
	}
	return c, nil
}

// List lists the contracts of a subject or of an organisation, newest first.
func (s *Service) List(ctx context.Context, subject, org string) ([]Contract, error) {
	q, arg := `SELECT `+contractCols+` FROM contracts WHERE subject_id = ? ORDER BY created_at DESC, id DESC LIMIT 200`, subject
	if org != "" {
		q, arg = `SELECT `+contractCols+` FROM contracts WHERE org_id = ? ORDER BY created_at DESC, id DESC LIMIT 200`, org
	}
	rows, err := s.db.Query(ctx, q, arg)
	if err != nil {
		return nil, fmt.Errorf("esign: contracts: %w", err)
	}
	defer rows.Close()
	out := []Contract{}
	for rows.Next() {
		c, err := scanContract(rows)
		if err != nil {
			return nil, fmt.Errorf("esign: contracts: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// workerKeyAAD binds a sealed worker key to its subject and key ID.
func workerKeyAAD(subject, keyID string) []byte {
	return []byte("gigvault/worker-signing-key/" + subject + "/" + keyID)
}

// workerSigner returns subject's signing key, creating it (and
// registering its public half) on first use, inside tx.
func (s *Service) workerSigner(ctx context.Context, tx *store.Tx, subject string) (cryptox.Signer, string, error) {
	var keyID string
	var ver int
	var sealed []byte
	err := tx.QueryRow(ctx, `SELECT key_id, dek_version, sealed FROM worker_signing_keys WHERE subject_id = ?`, subject).Scan(&keyID, &ver, &sealed)
	if err == nil {
		priv, err := s.keys.Open(ctx, subject, ver, sealed, workerKeyAAD(subject, keyID))
		if err != nil {
			return nil, "", fmt.Errorf("esign: worker key: %w", err)
		}
		defer cryptox.Wipe(priv)
		sg, err := s.suite.ParseSigner(priv)
		if err != nil {
			return nil, "", fmt.Errorf("esign: worker key: %w", err)
		}
		return sg, keyID, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, "", fmt.Errorf("esign: worker key: %w", err)
	}
	sg, err := s.suite.GenerateSigner()
	if err != nil {
		return nil, "", fmt.Errorf("esign: worker key: %w", err)
	}
	pub := sg.PublicBytes()
	keyID = contract.KeyID(s.suite, pub)
	priv := sg.PrivateBytes()
	defer cryptox.Wipe(priv)
	sealed, ver, err = s.keys.Seal(ctx, subject, priv, workerKeyAAD(subject, keyID))
	if err != nil {
		return nil, "", fmt.Errorf("esign: worker key: %w", err)
	}
	now := s.now().UnixMicro()
	if err := s.register(ctx, tx, keyID, subject, pub); err != nil {
		return nil, "", err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO worker_signing_keys (subject_id, key_id, dek_version, sealed, created_at) VALUES (?, ?, ?, ?, ?)`,
		subject, keyID, ver, sealed, now); err != nil {
		return nil, "", fmt.Errorf("esign: worker key: %w", err)
	}
	return sg, keyID, nil
}

// register records a public key in the registry, once.
func (s *Service) register(ctx context.Context, q interface {
	Exec(context.Context, string, ...any) (sql.Result, error)
}, keyID, owner string, pub []byte) error {
	_, err := q.Exec(ctx, `INSERT INTO signing_keys (key_id, owner, algorithm, public_key, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key_id) DO NOTHING`,
		keyID, owner, s.suite.Name(), pub, s.now().UnixMicro())
	if err != nil && !store.IsUniqueViolation(err) {
		return fmt.Errorf("esign: register key: %w", err)
	}
	return nil
}

// RegisterPlatformKey puts the platform's public key into the registry, so
// contracts it signed verify after restarts and rotations.
func (s *Service) RegisterPlatformKey(ctx context.Context, pub []byte) (string, error) {
	keyID := contract.KeyID(s.suite, pub)
	return keyID, s.register(ctx, s.db, keyID, PlatformSigner, pub)
}

// ErrSealed: the platform key has not been unsealed by the key officers.
var ErrSealed = errs.New(errs.Unavailable, "", "平台签署密钥尚未由密钥管理员解封，暂不能签署", "the platform signing key is sealed: two key officers must unseal it first").
	With("platform_key_sealed", nil, "")

// Sign is the signing ceremony, inside tx (in which the caller stores the
// document as the worker's contract_record): the worker signs the document
// digest with their key, the platform countersigns with its unsealed key,
// and the contract becomes signed. The caller has checked 4-factor
// verification and the fresh SMS code (the act of intent).
func (s *Service) Sign(ctx context.Context, tx *store.Tx, c Contract, doc contract.Document) (contract.File, error) {
	if c.Status != Offered {
		return contract.File{}, errs.New(errs.Conflict, "id", "该合同已签署", "this contract is already signed").With("status_"+c.Status, nil, c.ID)
	}
	now := s.now()
	if now.After(c.ValidUntil) {
		return contract.File{}, errs.New(errs.Conflict, "id", "合同已过有效期，不能签署", "the contract's validity has ended").With("contract_expired", nil, c.ID)
	}
	platform, ok := s.keys.PlatformSigner()
	if !ok {
		return contract.File{}, ErrSealed
	}
	if err := tx.LockKey(ctx, "gigvault/contract/"+c.ID); err != nil {
		return contract.File{}, err
	}
	var status string
	if err := tx.QueryRow(ctx, `SELECT status FROM contracts WHERE id = ?`, c.ID).Scan(&status); err != nil {
		return contract.File{}, fmt.Errorf("esign: sign: %w", err)
	}
	if status != Offered {
		return contract.File{}, errs.New(errs.Conflict, "id", "该合同已签署", "this contract is already signed").With("status_"+status, nil, c.ID)
	}
	worker, workerKey, err := s.workerSigner(ctx, tx, c.SubjectID)
	if err != nil {
		return contract.File{}, err
	}
	digest := doc.Digest(s.suite)
	ws, err := contract.Sign(worker, contract.SignedPayload{ContractID: c.ID, DocumentDigest: digest, Party: contract.PartyWorker,
		Signer: c.SubjectID, KeyID: workerKey, SignedAt: now})
	if err != nil {
		return contract.File{}, err
	}
	platformKey := contract.KeyID(s.suite, platform.PublicBytes())
	if err := s.register(ctx, tx, platformKey, PlatformSigner, platform.PublicBytes()); err != nil {
		return contract.File{}, err
	}
	ps, err := contract.Sign(platform, contract.SignedPayload{ContractID: c.ID, DocumentDigest: digest, Party: contract.PartyPlatform,
		Signer: PlatformSigner, KeyID: platformKey, SignedAt: now})
	if err != nil {
		return contract.File{}, err
	}
	for _, sg := range []contract.Signature{ws, ps} {
		if _, err := tx.Exec(ctx, `INSERT INTO contract_signatures (contract_id, party, signer, key_id, signed_at, signature) VALUES (?, ?, ?, ?, ?, ?)`,
			c.ID, sg.Payload.Party, sg.Payload.Signer, sg.Payload.KeyID, sg.Payload.SignedAt.UnixMicro(), sg.Sig); err != nil {
			return contract.File{}, fmt.Errorf("esign: sign: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE contracts SET status = ?, digest = ?, updated_at = ? WHERE id = ?`, Signed, digest, now.UnixMicro(), c.ID); err != nil {
		return contract.File{}, fmt.Errorf("esign: sign: %w", err)
	}
	return contract.NewFile(s.suite, doc, ws, ps)
}

// File assembles the downloadable file of a signed contract from its
// stored document text and signatures.
func (s *Service) File(ctx context.Context, c Contract, document string) (contract.File, error) {
	if c.Status != Signed {
		return contract.File{}, errs.New(errs.Conflict, "id", "合同尚未签署", "the contract is not signed yet").With("status_"+c.Status, nil, c.ID)
	}
	doc, err := contract.ParseDocument(document)
	if err != nil {
		return contract.File{}, err
	}
	rows, err := s.db.Query(ctx, `SELECT g.party, g.signer, g.key_id, g.signed_at, g.signature, k.public_key FROM contract_signatures g
		JOIN signing_keys k ON k.key_id = g.key_id WHERE g.contract_id = ? ORDER BY g.party DESC`, c.ID)
	if err != nil {
		return contract.File{}, fmt.Errorf("esign: file: %w", err)
	}
	defer rows.Close()
	var sigs []contract.Signature
	for rows.Next() {
		var sg contract.Signature
		var at int64
		if err := rows.Scan(&sg.Payload.Party, &sg.Payload.Signer, &sg.Payload.KeyID, &at, &sg.Sig, &sg.PublicKey); err != nil {
			return contract.File{}, fmt.Errorf("esign: file: %w", err)
		}
		sg.Payload.ContractID, sg.Payload.DocumentDigest, sg.Payload.SignedAt = c.ID, c.Digest, time.UnixMicro(at).UTC()
		sigs = append(sigs, sg)
	}
	if err := rows.Err(); err != nil {
		return contract.File{}, fmt.Errorf("esign: file: %w", err)
	}
	return contract.NewFile(s.suite, doc, sigs...)
}

// Trusted looks a key ID up in the registry, for contract.VerifyFile.
func (s *Service) Trusted(ctx context.Context) func(keyID string) ([]byte, bool) {
	return func(keyID string) ([]byte, bool) {
		var pub []byte
		if err := s.db.QueryRow(ctx, `SELECT public_key FROM signing_keys WHERE key_id = ?`, keyID).Scan(&pub); err != nil {
			return nil, false
		}
		return pub, true
	}
}
