package audit

import "gigvault/internal/cryptox"

// ChainHash computes the hash an entry stored with these column values must
// carry after prev: what a careful forger would write.
func ChainHash(l *Log, prev []byte, seq, at int64, id, actor, action, subject, fields, purpose, outcome, channel, detail string) []byte {
	r := row{seq: seq, at: at, id: id, actor: actor, action: action, subject: subject, fields: fields,
		purpose: purpose, outcome: outcome, channel: channel, detail: detail}
	return cryptox.Digest(l.suite, prev, r.canonical(nil))
}
