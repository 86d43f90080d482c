package receipt

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// writeShuffled writes v as JSON with object keys in a random order and
// white space between tokens.
func writeShuffled(b *bytes.Buffer, v any, rng *rand.Rand) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		b.WriteString("{\n  ")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(" ,\n  ")
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteString(" : ")
			writeShuffled(b, x[k], rng)
		}
		b.WriteString("\n}")
	case []any:
		b.WriteString("[ ")
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeShuffled(b, e, rng)
		}
		b.WriteString(" ]")
	default:
		vb, _ := json.Marshal(x) // escapes <, > and & as \u003c…
		b.Write(vb)
	}
}

func TestCanonicalStableAcrossFieldOrders(t *testing.T) {
	for name, r := range map[string]*Receipt{"adult": example(), "minor": minorExample()} {
		t.Run(name, func(t *testing.T) {
			r.CollectionMethod = "dialog <consent> & \"quotes\" \\ \u2028 é 中文"
			want, err := Canonical(r)
			if err != nil {
				t.Fatal(err)
			}
			var tree any
			if err := json.Unmarshal(want, &tree); err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range 20 {
				var b bytes.Buffer
				writeShuffled(&b, tree, rng)
				var got Receipt
				if err := json.Unmarshal(b.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				c, err := Canonical(&got)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(c, want) {
					t.Fatalf("order %d: canonical form differs:\n%s\n%s", i, c, want)
				}
			}
			// Canonical is idempotent on its own output.
			var again Receipt
			if err := json.Unmarshal(want, &again); err != nil {
				t.Fatal(err)
			}
			if c, _ := Canonical(&again); !bytes.Equal(c, want) {
				t.Fatal("canonical form not stable")
			}
		})
	}
}

func TestCanonicalForm(t *testing.T) {
	r := example()
	r.CollectionMethod = "a<b>&\u2028\"\\\x01\t"
	c, err := Canonical(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(c), `"collectionMethod":"a<b>&`+"\u2028"+`\"\\\u0001\t"`) {
		t.Errorf("string escaping wrong:\n%s", c)
	}
	if !strings.HasPrefix(string(c), `{"channel":"app","collectionMethod":`) {
		t.Errorf("keys not sorted or white space present:\n%s", c)
	}
	if strings.Contains(string(c), `"guardian"`) || strings.Contains(string(c), `"publicKey"`) {
		t.Errorf("empty optional fields present:\n%s", c)
	}
	for _, want := range []string{`"consentTimestamp":1767225600,`, `"primaryPurpose":true,`, `"thirdPartyDisclosure":false`, `"onBehalf":false`} {
		if !strings.Contains(string(c), want) {
			t.Errorf("missing %s in:\n%s", want, c)
		}
	}
	if !json.Valid(c) {
		t.Error("not valid JSON")
	}

	r.CollectionMethod = "bad \xff"
	if _, err := Canonical(r); err == nil {
		t.Error("invalid UTF-8 accepted")
	}
	if _, err := Canonical(nil); err == nil {
		t.Error("nil accepted")
	}
}

func TestCheckStrictJSON(t *testing.T) {
	deep := strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2)
	for in, ok := range map[string]bool{
		`{"a":1,"b":{"a":2}}`: true,
		`[{"a":1},{"a":1}]`:   true,
		`{"a":1,"a":1}`:       false,
		`{"a":1,"A":1}`:       false,
		`{"x":{"a":1,"a":2}}`: false,
		`{"a":1} {}`:          false,
		`{"a":1}x`:            false,
		`{"a":`:               false,
		deep:                  false,
	} {
		if err := checkStrictJSON([]byte(in)); (err == nil) != ok {
			t.Errorf("checkStrictJSON(%.40q) = %v, want ok=%v", in, err, ok)
		}
	}
}
