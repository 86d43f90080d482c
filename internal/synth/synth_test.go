package synth

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gigvault/internal/format"
)

const draws = 2000

func TestValueValidates(t *testing.T) {
	g := New(1)
	for _, k := range format.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			distinct := map[string]bool{}
			for range draws {
				v := g.Value(k)
				if err := format.Validate(k, v); err != nil {
					t.Fatalf("Value(%s) = %q: %v", k, v, err)
				}
				if n, _ := format.Normalize(k, v); n != v {
					t.Fatalf("Value(%s) = %q is not normalised (%q)", k, v, n)
				}
				distinct[v] = true
			}
			if len(distinct) < 2 {
				t.Errorf("only %d distinct values in %d draws", len(distinct), draws)
			}
		})
	}
}

func TestValueUnknownKindPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Value of an unknown kind did not panic")
		}
	}()
	New(1).Value("phone")
}

// sample draws every kind and a person, the whole observable output.
func sample(g *Generator) []string {
	var out []string
	for range 20 {
		for _, k := range format.Kinds() {
			out = append(out, g.Value(k))
		}
		out = append(out, fmt.Sprintf("%+v", g.Person()))
	}
	return out
}

func TestDeterministic(t *testing.T) {
	a, b := sample(New(42)), sample(New(42))
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different output (-first +second):\n%s", diff)
	}
	c := sample(New(43))
	same := 0
	for i := range a {
		if a[i] == c[i] {
			same++
		}
	}
	if same > len(a)/2 {
		t.Errorf("seeds 42 and 43 agree on %d of %d values", same, len(a))
	}
}

// TestUnique: mobiles, ID numbers and bank cards never repeat within a
// Generator, whether drawn by Value or inside Person.
func TestUnique(t *testing.T) {
	const n = 10000
	for _, seed := range []int64{1, 2, -7} {
		g := New(seed)
		seen := map[format.Kind]map[string]bool{
			format.KindMobile: {}, format.KindIDNumber: {}, format.KindBankCard: {},
		}
		add := func(k format.Kind, v string) {
			if seen[k][v] {
				t.Fatalf("seed %d: %s %q drawn twice", seed, k, v)
			}
			seen[k][v] = true
		}
		for i := range n {
			if i%4 == 0 {
				p := g.Person()
				add(format.KindMobile, p.Mobile)
				add(format.KindIDNumber, p.IDNumber)
				add(format.KindBankCard, p.BankCard)
				continue
			}
			for k := range seen {
				add(k, g.Value(k))
			}
		}
	}
}

var districtCodes = func() map[string]city {
	m := map[string]city{}
	for _, c := range cities {
		for _, d := range c.districts {
			m[d.code] = c
		}
	}
	return m
}()

func TestPerson(t *testing.T) {
	g := New(7)
	genders := map[string]int{}
	years := map[string]bool{}
	for range draws {
		p := g.Person()
		for k, v := range map[format.Kind]string{
			format.KindPersonName: p.Name, format.KindGender: p.Gender, format.KindDate: p.BirthDate,
			format.KindIDNumber: p.IDNumber, format.KindMobile: p.Mobile, format.KindBankCard: p.BankCard,
			format.KindBankName: p.BankName, format.KindCity: p.City, format.KindAddress: p.Address,
			format.KindEmail: p.Email,
		} {
			if n, err := format.Normalize(k, v); err != nil || n != v {
				t.Fatalf("%+v: %s %q: normalised %q, %v", p, k, v, n, err)
			}
		}
		if got := p.IDNumber[6:14]; got != strings.ReplaceAll(p.BirthDate, "-", "") {
			t.Fatalf("%+v: ID birth date %s != BirthDate", p, got)
		}
		if odd := (p.IDNumber[16]-'0')%2 == 1; odd != (p.Gender == format.GenderMale) {
			t.Fatalf("%+v: 17th digit %c does not match gender %s", p, p.IDNumber[16], p.Gender)
		}
		if p.BirthDate < "1960-01-01" || p.BirthDate > "2007-12-31" {
			t.Fatalf("%+v: birth date out of range", p)
		}
		if _, ok := districtCodes[p.IDNumber[:6]]; !ok {
			t.Fatalf("%+v: ID region %s is not in the table", p, p.IDNumber[:6])
		}
		var home *city
		for i := range cities {
			if cities[i].name == p.City {
				home = &cities[i]
			}
		}
		if home == nil || !strings.HasPrefix(p.Address, home.province+home.name) {
			t.Fatalf("%+v: address not in city", p)
		}
		if m, _ := format.Mask("area", p.Address); m != home.province+home.name+format.Stars {
			t.Fatalf("%+v: Mask(area) = %q", p, m)
		}
		if !bankMatches(p.BankCard, p.BankName) {
			t.Fatalf("%+v: card BIN does not belong to %s", p, p.BankName)
		}
		local, _, _ := strings.Cut(p.Email, "@")
		if !regexp.MustCompile(`^[1-9][0-9]{5,9}$`).MatchString(local) && !strings.HasPrefix(local, pinyinSurname(p.Name)) {
			t.Fatalf("%+v: e-mail not made from the name", p)
		}
		genders[p.Gender]++
		years[p.BirthDate[:3]] = true
	}
	if genders[format.GenderMale] < draws/3 || genders[format.GenderFemale] < draws/3 {
		t.Errorf("genders unbalanced: %v", genders)
	}
	if len(years) != 5 { // 196x to 200x
		t.Errorf("birth decades %v, want 1960s to 2000s", years)
	}
}

func bankMatches(card, name string) bool {
	for _, b := range banks {
		if b.name == name && strings.HasPrefix(card, b.bin) && len(card) == b.length {
			return true
		}
	}
	return false
}

func pinyinSurname(name string) string {
	for _, s := range append(compoundSurnames, surnames...) {
		if strings.HasPrefix(name, s.han) {
			return s.pinyin
		}
	}
	return "?"
}

// TestShapes checks that values use the tables (real prefixes, BINs,
// regions) and that every variant of a kind turns up.
func TestShapes(t *testing.T) {
	g := New(3)
	prefixes := map[string]bool{}
	for _, p := range mobilePrefixes {
		prefixes[p] = true
	}
	deviceForms := map[string]bool{}
	for range draws {
		if m := g.Value(format.KindMobile); !prefixes[m[:3]] {
			t.Fatalf("mobile %s has prefix not in the table", m)
		}
		if id := g.Value(format.KindIDNumber); districtCodes[id[:6]].name == "" {
			t.Fatalf("ID %s has a region not in the table", id)
		}
		if u := g.Value(format.KindUSCC); !strings.HasPrefix(u, "91") || districtCodes[u[2:8]].name == "" {
			t.Fatalf("USCC %s: want 91 and a region code", u)
		}
		found := false
		card := g.Value(format.KindBankCard)
		for _, b := range banks {
			found = found || bankMatches(card, b.name)
		}
		if !found {
			t.Fatalf("card %s has no BIN of the table", card)
		}
		d := g.Value(format.KindDeviceID)
		switch {
		case len(d) == 15:
			deviceForms["imei"] = true
		case len(d) == 16:
			deviceForms["android"] = true
		case strings.Count(d, ":") == 5:
			deviceForms["mac"] = true
		}
		var lat, lng float64
		if _, err := fmt.Sscanf(g.Value(format.KindGeoPoint), "%f,%f", &lat, &lng); err != nil ||
			lat < 18 || lat > 54 || lng < 73 || lng > 136 {
			t.Fatalf("geo point %v,%v (%v) not in mainland China", lat, lng, err)
		}
	}
	if len(deviceForms) != 3 {
		t.Errorf("device ID forms %v, want imei, android and mac", deviceForms)
	}
}

func TestTables(t *testing.T) {
	for _, p := range mobilePrefixes {
		if err := format.Validate(format.KindMobile, p+"12345678"); err != nil {
			t.Errorf("mobile prefix %s: %v", p, err)
		}
	}
	for code, c := range districtCodes {
		body := code + "19900101001"
		ch, _ := format.IDCheckChar(body)
		if err := format.Validate(format.KindIDNumber, body+string(ch)); err != nil {
			t.Errorf("district code %s: %v", code, err)
		}
		if err := format.Validate(format.KindGeoArea, c.province+c.name); err != nil {
			t.Errorf("city %s: %v", c.name, err)
		}
	}
	for _, b := range banks {
		if len(b.bin) != 6 || b.length < 16 || b.length > 19 {
			t.Errorf("bank %s: BIN %s length %d", b.name, b.bin, b.length)
		}
	}
	for _, k := range keywords {
		if err := format.Validate(format.KindKeyword, k); err != nil {
			t.Errorf("keyword %s: %v", k, err)
		}
	}
}

// TestPerm checks that the counter permutation is a bijection of [0, n).
func TestPerm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []uint64{1, 2, 3, 17, 1000, 4096, 65537} {
		p := newPerm(n, rng)
		seen := make([]bool, n)
		for i := range n {
			x := p.at(i)
			if x >= n || seen[x] {
				t.Fatalf("n=%d: at(%d) = %d repeats or is out of range", n, i, x)
			}
			seen[x] = true
		}
		if p.at(n) != p.at(0) {
			t.Errorf("n=%d: at(n) != at(0)", n)
		}
	}
}

func BenchmarkPerson(b *testing.B) {
	g := New(1)
	for b.Loop() {
		g.Person()
	}
}
