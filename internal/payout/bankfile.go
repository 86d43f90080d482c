package payout

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
	"gigvault/internal/format"
)

// BankFileHeader is the first line of the bank payment file.
const BankFileHeader = "line,account_name,card_number,bank_name,amount_fen,memo,reference"

// FileMagic begins a sealed transfer file: GVPAY1 ‖ nonce ‖ ciphertext ‖ tag.
const FileMagic = "GVPAY1"

// Payee is where a worker is paid: the account holder's name, the card
// number and the bank's name, decrypted from the vault by the integrator
// for the transfer file and for nothing else.
type Payee struct {
	Name       string
	CardNumber string
	BankName   string
}

// PayeeFunc returns the payee of a worker (a subject ID).
type PayeeFunc func(ctx context.Context, subjectID string) (Payee, error)

// Reference is the reference of a batch's row in the bank file, which the
// bank echoes back: "<batch ID>-<line>".
func Reference(batchID string, line int) string { return batchID + "-" + strconv.Itoa(line) }

// WriteBankFile writes the bank's payment file of an approved batch b, in
// plain CSV (UTF-8, CRLF line ends, RFC 4180 quoting):
//
//	line,account_name,card_number,bank_name,amount_fen,memo,reference
//	2,张三,6222020200112233445,中国工商银行,350000,11月工资,0190f3c4-…-2
//
// one line per row, in the order of rows, which must be b's (as many, the
// same total, every one pending). payee is called once per row; the card
// number appears in this output and nowhere else. The name, card and bank
// are checked as formats (person name, bank card with its Luhn digit, bank
// name); errors name the line and the field, never the value.
//
// The plain file is personal information: prefer GenerateTransferFile,
// which never lets it leave memory unsealed. WriteBankFile's own buffer is
// wiped once written to w.
func WriteBankFile(ctx context.Context, w io.Writer, b Batch, rows []Row, payee PayeeFunc) error {
	var buf plainBuf
	defer buf.wipe()
	if err := appendBankFile(ctx, &buf, b, rows, payee); err != nil {
		return err
	}
	if _, err := w.Write(buf.b); err != nil {
		return fmt.Errorf("payout: write the bank file: %w", err)
	}
	return nil
}

// GenerateTransferFile writes b's bank file into memory, seals it with
// SealFile under key (the transfer key shared with the rail) and wipes the
// plaintext. It returns the sealed file and its digest, the hex of the
// suite's hash (SM3 by default) of the sealed bytes, for
// Store.MarkSubmitted.
//
// The strings payee returns cannot be wiped (Go strings are immutable):
// they stay in memory until collected.
func GenerateTransferFile(ctx context.Context, suite cryptox.Suite, key []byte, b Batch, rows []Row, payee PayeeFunc) ([]byte, string, error) {
	var buf plainBuf
	defer buf.wipe()
	if err := appendBankFile(ctx, &buf, b, rows, payee); err != nil {
		return nil, "", err
	}
	sealed, err := SealFile(suite, key, buf.b, b.ID)
	if err != nil {
		return nil, "", err
	}
	return sealed, FileDigest(suite, sealed), nil
}

// FileDigest is the hex of the suite's hash of a sealed file.
func FileDigest(suite cryptox.Suite, sealed []byte) string {
	return hex.EncodeToString(cryptox.Digest(suite, sealed))
}

// SealFile encrypts a bank file with the suite's AEAD (SM4-GCM by default)
// under key, bound to batchID as associated data, and returns
// FileMagic ‖ nonce ‖ ciphertext ‖ tag. It wipes plain, sealed or not: the
// caller must not use it afterwards.
func SealFile(suite cryptox.Suite, key, plain []byte, batchID string) ([]byte, error) {
	defer clear(plain)
	if batchID == "" {
		return nil, invalid("batch_id", "须指明付款批次", "name the payout batch")
	}
	a, err := suite.NewAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("payout: transfer key: %w", err)
	}
	out := make([]byte, 0, len(FileMagic)+a.NonceSize()+len(plain)+a.Overhead())
	out = append(out, FileMagic...)
	return cryptox.Seal(a, out, plain, []byte(batchID)), nil
}

// errFileOpen is OpenFile's refusal.
func errFileOpen(cause error) error {
	return errs.Wrap(errs.Integrity, "file", "付款文件无法解密:已被篡改、已损坏或不属于该批次",
		"the payment file does not open: it was altered, is damaged or belongs to another batch", cause)
}

// OpenFile reverses SealFile: it returns the plain bank file, or an
// errs.Integrity error when the file is not a sealed transfer file, was
// altered, or is sealed for another batch or under another key.
func OpenFile(suite cryptox.Suite, key, sealed []byte, batchID string) ([]byte, error) {
	if !bytes.HasPrefix(sealed, []byte(FileMagic)) {
		return nil, errFileOpen(nil)
	}
	a, err := suite.NewAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("payout: transfer key: %w", err)
	}
	plain, err := cryptox.Open(a, nil, sealed[len(FileMagic):], []byte(batchID))
	if err != nil {
		return nil, errFileOpen(err)
	}
	return plain, nil
}

// appendBankFile writes b's bank file to buf.
func appendBankFile(ctx context.Context, buf *plainBuf, b Batch, rows []Row, payee PayeeFunc) error {
	if b.Status != Approved {
		return wrongStatus(b, "只有已批准的批次可以生成付款文件", "only an approved batch has a payment file")
	}
	var total int64
	lines := make(map[int]bool, len(rows))
	for _, r := range rows {
		if r.Status != "" && r.Status != RowPending || r.Line <= 0 || lines[r.Line] || r.AmountFen <= 0 {
			return invalid("rows", "付款行与该批次不符", "the rows are not the batch's pending rows")
		}
		lines[r.Line] = true
		total = addSat(total, r.AmountFen)
	}
	if len(rows) != b.RowCount || total != b.TotalFen {
		return invalid("rows", "付款行与该批次不符", "the rows are not the batch's pending rows")
	}

	buf.grow(len(BankFileHeader) + 2 + 192*len(rows))
	buf.str(BankFileHeader)
	buf.str("\r\n")
	for _, r := range rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		p, err := payee(ctx, r.WorkerID)
		if err != nil {
			return fmt.Errorf("payout: payee of line %d: %w", r.Line, err)
		}
		bad := func(field, zh, en string) error {
			return invalid(field, fmt.Sprintf("第%d行收款人的%s无效", r.Line, zh), fmt.Sprintf("line %d: the payee's %s is not valid", r.Line, en))
		}
		name, err := format.Normalize(format.KindPersonName, p.Name)
		if err != nil {
			return bad("account_name", "户名", "account name")
		}
		card, err := format.Normalize(format.KindBankCard, p.CardNumber)
		if err != nil {
			return bad("card_number", "银行卡号", "card number")
		}
		// The issuing bank is optional: banks tell it from the card's
		// BIN, and workers are not asked for it.
		bank := ""
		if p.BankName != "" {
			if bank, err = format.Normalize(format.KindBankName, p.BankName); err != nil || strings.ContainsAny(bank[:1], "=+-@") {
				return bad("bank_name", "开户行", "bank name")
			}
		}
		buf.str(strconv.Itoa(r.Line))
		buf.comma()
		buf.field(name)
		buf.comma()
		buf.str(card)
		buf.comma()
		buf.field(bank)
		buf.comma()
		buf.str(strconv.FormatInt(r.AmountFen, 10))
		buf.comma()
		buf.field(r.Memo)
		buf.comma()
		buf.field(Reference(b.ID, r.Line))
		buf.str("\r\n")
	}
	return nil
}

// plainBuf holds a plaintext file in memory and wipes what it leaves
// behind: the old array when it grows, everything on wipe.
type plainBuf struct{ b []byte }

func (p *plainBuf) grow(n int) {
	if cap(p.b)-len(p.b) >= n {
		return
	}
	nb := make([]byte, len(p.b), 2*cap(p.b)+n)
	copy(nb, p.b)
	clear(p.b[:cap(p.b)])
	p.b = nb
}

func (p *plainBuf) str(s string) {
	p.grow(len(s))
	p.b = append(p.b, s...)
}

func (p *plainBuf) comma() {
	p.grow(1)
	p.b = append(p.b, ',')
}

// field writes s as one CSV field, quoted when it must be (RFC 4180).
func (p *plainBuf) field(s string) {
	if s == "" || !strings.ContainsAny(s, ",\"\r\n") && s[0] != ' ' && s[len(s)-1] != ' ' {
		p.str(s)
		return
	}
	p.grow(len(s) + 2 + strings.Count(s, `"`))
	p.b = append(p.b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			p.b = append(p.b, '"')
		}
		p.b = append(p.b, s[i])
	}
	p.b = append(p.b, '"')
}

func (p *plainBuf) wipe() {
	clear(p.b[:cap(p.b)])
	p.b = p.b[:0]
}
