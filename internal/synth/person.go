package synth

import "time"

// Person is a synthetic person whose fields agree with each other: the ID
// number encodes BirthDate and Gender (its 17th digit is odd for 男, even
// for 女), the e-mail address is made from the name's pinyin, and Address
// lies in City. Every field passes format.Validate for its kind (Name:
// person_name, Gender: gender, BirthDate: date, IDNumber: id_number, Mobile:
// mobile, BankCard: bank_card, BankName: bank_name, City: city, Address:
// address, Email: email) and is already normalised.
type Person struct {
	Name      string // 张伟
	Gender    string // 男 or 女
	BirthDate string // YYYY-MM-DD, 1960-01-01 to 2007-12-31
	IDNumber  string // 18 characters; region is the birthplace, often City
	Mobile    string // 11 digits
	BankCard  string // digits only, Luhn-valid, a BIN of BankName
	BankName  string // 中国工商银行
	City      string // 福州市
	Address   string // 福建省福州市仓山区金工路12号3栋402室
	Email     string // zhangwei1990@163.com
}

// Person returns a new synthetic person. Mobile, IDNumber and BankCard draw
// on the same counters as Value, so they do not repeat those of other people
// or values from this Generator.
func (g *Generator) Person() Person {
	gender := g.gender()
	name := g.name(gender)
	home := pick(g, cities)
	birthplace := home
	if g.rng.IntN(10) >= 6 { // 40% moved from elsewhere
		birthplace = pick(g, cities)
	}
	id, birth := g.idNumber(gender, pick(g, birthplace.districts))
	card, bankName := g.bankCard()
	return Person{
		Name:      name.han,
		Gender:    gender,
		BirthDate: birth.Format(time.DateOnly),
		IDNumber:  id,
		Mobile:    g.mobile(),
		BankCard:  card,
		BankName:  bankName,
		City:      home.name,
		Address:   g.address(home, pick(g, home.districts)),
		Email:     g.email(name, birth.Year()),
	}
}
