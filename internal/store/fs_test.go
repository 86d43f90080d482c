package store_test

import (
	"gigvault/internal/store"
	"io/fs"
)

func fsReadDir(s store.Schema, dir string) ([]string, error) {
	ents, err := fs.ReadDir(s.FS, dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, err
}

func fsReadFile(s store.Schema, name string) ([]byte, error) { return fs.ReadFile(s.FS, name) }
