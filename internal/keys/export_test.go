package keys

import "crypto/subtle"

// SameRoot reports whether two roots hold the same key.
func SameRoot(a, b *Root) bool { return subtle.ConstantTimeCompare(a.key, b.key) == 1 }
