package store

import "embed"

//go:embed migrations/main migrations/kms
var migrations embed.FS

// Main is the business database's schema: subjects, PI ciphertext, audit chain.
var Main = Schema{Name: "gigvault", FS: mustSub("migrations/main")}

// KMS is the key store's schema. It lives apart from the business database
// (its own SQLite file, or its own PostgreSQL schema) so that a copy of the
// business database never carries the data keys that open it (ENC-5).
var KMS = Schema{Name: "gigvault-kms", FS: mustSub("migrations/kms")}
