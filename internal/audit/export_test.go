package audit

import "gigvault/internal/cryptox"

// ChainHash computes the hash an entry stored with these column values must
// carry after prev: what a careful forger would write.
func ChainHash(l *Log, prev []byte, seq, at int64, actor, action, subject string, body []byte) []byte {
	r := row{seq: seq, at: at, actor: actor, action: action, subject: subject, body: body}
	return cryptox.Digest(l.suite, prev, r.canonical(nil))
}

// Body encodes an entry body as Append would.
func Body(fields, purpose, outcome, channel, detail string) []byte {
	return encodeBody(fields, purpose, outcome, channel, detail)
}
