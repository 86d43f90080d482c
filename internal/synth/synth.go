// Package synth generates synthetic personal information for tests and demos
// (GIG-8: tests use synthetic data, never real people's).
//
// Every value passes format.Validate for its kind and looks real — real
// region codes, bank BINs, mobile segments and cities, correct check digits —
// but describes nobody. Output is deterministic for a seed. Mobile numbers,
// ID numbers and bank card numbers from one Generator do not repeat (for at
// least 10^8, ~8.7·10^6 and 10^9 draws respectively), because a counter is
// mixed into their digits through a keyed permutation.
package synth

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"gigvault/internal/format"
)

// Generator makes synthetic values. It is not safe for concurrent use: give
// each goroutine its own, with its own seed.
type Generator struct {
	rng *rand.Rand

	// Counters mixed through keyed permutations into the digits of values
	// that must not repeat.
	mobileN, idN, cardN uint64
	mobilePerm          perm // last 8 digits of a mobile number
	idPerm              perm // birth day × sequence pair of an ID number
	cardPerm            perm // last 9 digits before a card's check digit
}

// Birth dates of generated people: 1960-01-01 to 2007-12-31.
var (
	birthFirst = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)
	birthDays  = uint64(time.Date(2008, 1, 1, 0, 0, 0, 0, time.UTC).Sub(birthFirst).Hours() / 24)
)

// idSeqPairs is the number of (two sequence digits, gender digit of one
// parity) pairs per birth day: 100 × 5.
const idSeqPairs = 500

// New returns a Generator whose output is determined by seed.
func New(seed int64) *Generator {
	s := uint64(seed)
	rng := rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))
	return &Generator{
		rng:        rng,
		mobilePerm: newPerm(100_000_000, rng),
		idPerm:     newPerm(birthDays*idSeqPairs, rng),
		cardPerm:   newPerm(1_000_000_000, rng),
	}
}

// Value returns a random value of kind k that passes format.Validate (and is
// already in the form format.Normalize returns). It panics if k is not a
// known kind, which is a programming error.
func (g *Generator) Value(k format.Kind) string {
	switch k {
	case format.KindMobile:
		return g.mobile()
	case format.KindPersonName:
		return g.name(g.gender()).han
	case format.KindGender:
		return g.gender()
	case format.KindYearMonth:
		return g.date(1990, 2025).Format("2006-01")
	case format.KindDate:
		return g.date(1960, 2025).Format(time.DateOnly)
	case format.KindCity:
		return pick(g, cities).name
	case format.KindAddress:
		c := pick(g, cities)
		return g.address(c, pick(g, c.districts))
	case format.KindEmail:
		return g.email(g.name(g.gender()), g.date(1960, 2007).Year())
	case format.KindIDNumber:
		id, _ := g.idNumber(g.gender(), pick(g, pick(g, cities).districts))
		return id
	case format.KindBankCard:
		n, _ := g.bankCard()
		return n
	case format.KindBankName:
		return pick(g, banks).name
	case format.KindUSCC:
		return g.uscc()
	case format.KindIP:
		return g.ip()
	case format.KindDeviceID:
		return g.deviceID()
	case format.KindText:
		return g.resume()
	case format.KindShortText:
		return pick(g, shortTexts)
	case format.KindMoneyFen:
		return g.moneyFen()
	case format.KindGeoArea:
		c := pick(g, cities)
		return c.province + c.name + pick(g, c.districts).name
	case format.KindGeoPoint:
		c := pick(g, cities)
		return fmt.Sprintf("%.6f,%.6f", c.lat+g.jitter(0.08), c.lng+g.jitter(0.08))
	case format.KindKeyword:
		return pick(g, keywords)
	case format.KindUsername:
		return g.username()
	case format.KindAccount:
		return "wxid_" + g.alnum(14)
	case format.KindJSON:
		return g.history()
	case format.KindScore:
		return strconv.Itoa(300 + g.rng.IntN(701))
	case format.KindURL:
		return "https://files.gigvault.example/" + pick(g, []string{"avatar/", "resume/", "cert/"}) +
			g.hex(16) + pick(g, []string{".jpg", ".png", ".pdf"})
	}
	panic("synth: unknown format kind " + strconv.Quote(string(k)))
}

func pick[T any](g *Generator, s []T) T { return s[g.rng.IntN(len(s))] }

// digits returns n random decimal digits.
func (g *Generator) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.rng.IntN(10))
	}
	return string(b)
}

func (g *Generator) hex(n int) string {
	b := make([]byte, (n+1)/2)
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return hex.EncodeToString(b)[:n]
}

func (g *Generator) alnum(n int) string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[g.rng.IntN(len(chars))]
	}
	return string(b)
}

func (g *Generator) jitter(d float64) float64 { return (g.rng.Float64()*2 - 1) * d }

func (g *Generator) gender() string {
	if g.rng.IntN(2) == 0 {
		return format.GenderMale
	}
	return format.GenderFemale
}

// date returns a random day in the years from..to.
func (g *Generator) date(from, to int) time.Time {
	first := time.Date(from, 1, 1, 0, 0, 0, 0, time.UTC)
	days := int(time.Date(to+1, 1, 1, 0, 0, 0, 0, time.UTC).Sub(first).Hours() / 24)
	return first.AddDate(0, 0, g.rng.IntN(days))
}

// fullName is a generated name with its pinyin.
type fullName struct {
	han, pinyin       string // 张伟, zhangwei
	surHan, surPinyin string // 张, zhang
	givenPinyin       string // wei
}

func (g *Generator) name(gender string) fullName {
	sur := pick(g, surnames)
	if g.rng.IntN(30) == 0 {
		sur = pick(g, compoundSurnames)
	}
	pool := givenMale
	if gender == format.GenderFemale {
		pool = givenFemale
	}
	n := fullName{surHan: sur.han, surPinyin: sur.pinyin}
	chars := 2
	if g.rng.IntN(10) < 3 { // a one-character given name
		chars = 1
	}
	given := ""
	for range chars {
		s := pick(g, pool)
		given += s.han
		n.givenPinyin += s.pinyin
	}
	n.han = sur.han + given
	n.pinyin = sur.pinyin + n.givenPinyin
	return n
}

func (g *Generator) mobile() string {
	i := g.mobileN
	g.mobileN++
	return pick(g, mobilePrefixes) + fmt.Sprintf("%08d", g.mobilePerm.at(i))
}

// idNumber returns an ID number in district d for someone of the gender,
// with their birth date. The (birth date, sequence) pair comes from a
// counter, so no two numbers from one Generator are equal.
func (g *Generator) idNumber(gender string, d district) (id string, birth time.Time) {
	x := g.idPerm.at(g.idN)
	g.idN++
	birth = birthFirst.AddDate(0, 0, int(x/idSeqPairs))
	pair := int(x % idSeqPairs)
	genderDigit := pair % 5 * 2 // even: female
	if gender == format.GenderMale {
		genderDigit++
	}
	body := d.code + birth.Format("20060102") + fmt.Sprintf("%02d%d", pair/5, genderDigit)
	c, ok := format.IDCheckChar(body)
	if !ok {
		panic("synth: ID body is not 17 digits") // unreachable: codes are 6 digits
	}
	return body + string(c), birth
}

// bankCard returns a Luhn-valid debit card number of a real BIN and its bank.
func (g *Generator) bankCard() (number, bankName string) {
	b := pick(g, banks)
	i := g.cardN
	g.cardN++
	body := b.bin + g.digits(b.length-1-len(b.bin)-9) + fmt.Sprintf("%09d", g.cardPerm.at(i))
	c, _ := format.LuhnCheckDigit(body)
	return body + string(c), b.name
}

// address is a street address in district d of city c.
func (g *Generator) address(c city, d district) string {
	a := c.province + c.name + d.name + pick(g, streets) + strconv.Itoa(1+g.rng.IntN(300)) + "号"
	switch g.rng.IntN(3) {
	case 0:
		a += fmt.Sprintf("%d栋%d%02d室", 1+g.rng.IntN(20), 1+g.rng.IntN(30), 1+g.rng.IntN(6))
	case 1:
		a += fmt.Sprintf("%s%d单元%d%02d室", pick(g, estates), 1+g.rng.IntN(6), 1+g.rng.IntN(18), 1+g.rng.IntN(4))
	}
	return a
}

func (g *Generator) email(n fullName, year int) string {
	domain := pick(g, emailDomains)
	var local string
	switch {
	case domain == "qq.com" && g.rng.IntN(3) > 0:
		local = strconv.Itoa(1+g.rng.IntN(9)) + g.digits(5+g.rng.IntN(5)) // a QQ number
	case domain == "gmail.com":
		local = n.surPinyin + "." + n.givenPinyin
	case g.rng.IntN(2) == 0:
		local = n.pinyin + strconv.Itoa(year)
	default:
		local = n.pinyin + g.digits(2+g.rng.IntN(3))
	}
	return local + "@" + domain
}

func (g *Generator) username() string {
	n := g.name(g.gender())
	switch g.rng.IntN(3) {
	case 0:
		return n.pinyin + "_" + g.digits(2+g.rng.IntN(3))
	case 1:
		return pick(g, nicknames) + g.digits(2)
	}
	return "小" + n.surHan + pick(g, []string{"同学", "兼职", "姐", "哥"})
}

// uscc returns a company code: 9 (industry and commerce) 1 (enterprise), a
// region code, an organisation code with its GB 11714 check character, and
// the GB 32100 check character.
func (g *Generator) uscc() string {
	org := g.digits(8)
	sum := 0
	for i, w := range []int{3, 7, 9, 10, 5, 8, 4, 2} {
		sum += int(org[i]-'0') * w
	}
	org += string("0123456789X0"[11-sum%11])
	body := "91" + pick(g, pick(g, cities).districts).code + org
	c, _ := format.USCCCheckChar(body)
	return body + string(c)
}

func (g *Generator) ip() string {
	return fmt.Sprintf("%d.%d.%d.%d", pick(g, ipFirstOctets), g.rng.IntN(256), g.rng.IntN(256), 1+g.rng.IntN(254))
}

// deviceID returns an IMEI (mostly), an Android ID or a MAC address.
func (g *Generator) deviceID() string {
	switch r := g.rng.IntN(10); {
	case r < 7:
		body := "86" + g.digits(12) // reporting body 86: devices approved in China
		c, _ := format.LuhnCheckDigit(body)
		return body + string(c)
	case r < 9:
		return g.hex(16)
	}
	b := make([]string, 6)
	for i := range b {
		b[i] = fmt.Sprintf("%02x", g.rng.IntN(256))
	}
	b[0] = fmt.Sprintf("%02x", g.rng.IntN(256)&^1) // unicast
	return strings.Join(b, ":")
}

// resume is a paragraph of a part-time job seeker's self-introduction.
func (g *Generator) resume() string {
	var b strings.Builder
	b.WriteString(pick(g, resumeOpenings))
	for _, i := range g.rng.Perm(len(resumeExperiences))[:1+g.rng.IntN(2)] {
		b.WriteString(resumeExperiences[i])
	}
	b.WriteString(pick(g, resumeSkills))
	b.WriteString(pick(g, resumeClosings))
	return b.String()
}

// moneyFen is an hourly, daily or monthly pay in fen.
func (g *Generator) moneyFen() string {
	switch g.rng.IntN(3) {
	case 0:
		return strconv.Itoa((15 + g.rng.IntN(36)) * 100) // 15–50 yuan an hour
	case 1:
		return strconv.Itoa((100 + g.rng.IntN(31)*10) * 100) // 100–400 yuan a day
	}
	return strconv.Itoa((3000 + g.rng.IntN(91)*100) * 100) // 3,000–12,000 yuan a month
}

type education struct {
	School string `json:"school"`
	Degree string `json:"degree"`
	Major  string `json:"major"`
	From   string `json:"from"`
	To     string `json:"to"`
}

type job struct {
	Company string `json:"company"`
	Title   string `json:"title"`
	From    string `json:"from"`
	To      string `json:"to"`
}

// history is a JSON array of education or of work history, oldest first.
func (g *Generator) history() string {
	start := time.Date(2005+g.rng.IntN(15), time.Month(1+g.rng.IntN(12)), 1, 0, 0, 0, 0, time.UTC)
	var v any
	if g.rng.IntN(2) == 0 {
		var ed []education
		for range 1 + g.rng.IntN(2) {
			deg := pick(g, degrees)
			years := map[string]int{"大专": 3, "本科": 4, "硕士": 3}[deg]
			from := time.Date(start.Year(), 9, 1, 0, 0, 0, 0, time.UTC)
			to := time.Date(from.Year()+years, 6, 1, 0, 0, 0, 0, time.UTC)
			ed = append(ed, education{pick(g, schools), deg, pick(g, majors), from.Format("2006-01"), to.Format("2006-01")})
			start = to.AddDate(0, 3, 0)
		}
		v = ed
	} else {
		var jobs []job
		for range 1 + g.rng.IntN(3) {
			to := start.AddDate(0, 2+g.rng.IntN(30), 0)
			jobs = append(jobs, job{pick(g, companies), pick(g, titles), start.Format("2006-01"), to.Format("2006-01")})
			start = to.AddDate(0, 1+g.rng.IntN(6), 0)
		}
		v = jobs
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic("synth: " + err.Error()) // unreachable: plain structs of strings
	}
	return string(b)
}
