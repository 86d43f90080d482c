package yamlx

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestDecodeStrictRefusesUnknownKeys(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("\n\nname: a\nextra: 1\n"), &doc); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Name string `yaml:"name"`
	}
	err := DecodeStrict(doc.Content[0], &v)
	if err == nil || !strings.Contains(err.Error(), "extra") || strings.Contains(err.Error(), "line") {
		t.Fatalf("unknown key: %v", err)
	}
	if err := yaml.Unmarshal([]byte("name: a\n"), &doc); err != nil {
		t.Fatal(err)
	}
	if err := DecodeStrict(doc.Content[0], &v); err != nil || v.Name != "a" {
		t.Fatalf("known keys: %v %+v", err, v)
	}
}

func TestSplit(t *testing.T) {
	var v []int
	err := yaml.Unmarshal([]byte("- 1\n- 2\n- x\n"), &v)
	line, msg := Split(err)
	if line != 3 || strings.HasPrefix(msg, "yaml:") || strings.Contains(msg, "line 3") || msg == "" {
		t.Fatalf("Split(%v) = %d, %q", err, line, msg)
	}
	err = yaml.Unmarshal([]byte("a: [\n"), &v)
	if line, msg := Split(err); msg == "" || strings.HasPrefix(msg, "yaml:") || line < 0 {
		t.Fatalf("syntax error: %d %q", line, msg)
	}
}
