package catalog_test

import (
	"testing"

	"gigvault/internal/catalog"
)

func TestEveryCategoryHasLabels(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range catalog.Categories {
		zh, en := c.Labels()
		if zh == string(c) || en == string(c) || zh == "" || en == "" || seen[zh] || seen[en] {
			t.Errorf("category %s: labels %q / %q missing or repeated", c, zh, en)
		}
		seen[zh], seen[en] = true, true
	}
	if zh, en := catalog.Category("nope").Labels(); zh != "nope" || en != "nope" {
		t.Errorf("unknown category: %q / %q", zh, en)
	}
}
