package format

import "fmt"

// Error codes carried by *Error. They are stable: callers and the API map them.
const (
	CodeEmpty           = "empty"             // nothing left after trimming white space
	CodeInvalidUTF8     = "invalid_utf8"      // the bytes are not UTF-8
	CodeControlChars    = "control_chars"     // control or bidi-override characters
	CodeTooLong         = "too_long"          // more characters (or bytes) than the kind allows
	CodeUnknownKind     = "unknown_kind"      // ParseKind or Validate got a kind not in SCHEMA.md
	CodeInvalidMaskSpec = "invalid_mask_spec" // Mask or ValidateMaskSpec got a bad spec

	CodeInvalidMobile     = "invalid_mobile"
	CodeInvalidPersonName = "invalid_person_name"
	CodeInvalidGender     = "invalid_gender"
	CodeInvalidYearMonth  = "invalid_year_month"
	CodeInvalidDate       = "invalid_date"
	CodeInvalidCity       = "invalid_city"
	CodeInvalidGeoArea    = "invalid_geo_area"
	CodeInvalidAddress    = "invalid_address"
	CodeInvalidEmail      = "invalid_email"
	CodeInvalidIDNumber   = "invalid_id_number"
	CodeInvalidBankCard   = "invalid_bank_card"
	CodeInvalidUSCC       = "invalid_uscc"
	CodeInvalidIP         = "invalid_ip"
	CodeInvalidDeviceID   = "invalid_device_id"
	CodeInvalidMoneyFen   = "invalid_money_fen"
	CodeInvalidGeoPoint   = "invalid_geo_point"
	CodeInvalidJSON       = "invalid_json"
	CodeInvalidScore      = "invalid_score"
	CodeInvalidURL        = "invalid_url"
)

// Error is the error every function of this package returns.
//
// It is safe to log and to show to the user: Message and MessageZh are chosen
// from a fixed set of texts and never contain the value that was checked,
// which is personal information.
type Error struct {
	Kind      Kind   // the kind being checked; empty for kind and mask-spec errors
	Code      string // stable machine-readable code, one of the Code constants
	Message   string // English text, without the value
	MessageZh string // zh-CN text, without the value
}

// Error returns the kind and the English message, never the value.
func (e *Error) Error() string {
	if e.Kind == "" {
		return "format: " + e.Message
	}
	return "format: " + string(e.Kind) + ": " + e.Message
}

// msg is one fixed pair of texts. Every msg is made by newMsg, which records it
// in allMsgs so that tests can check that messages come only from this set.
type msg struct{ en, zh string }

var allMsgs []msg

func newMsg(en, zh string) msg {
	m := msg{en: en, zh: zh}
	allMsgs = append(allMsgs, m)
	return m
}

func newError(k Kind, code string, m msg) *Error {
	return &Error{Kind: k, Code: code, Message: m.en, MessageZh: m.zh}
}

// tooLongMsg returns the fixed message for a limit of n characters (or bytes).
func tooLongMsg(n int, bytes bool) msg {
	if bytes {
		return newMsg(fmt.Sprintf("is too long (at most %d bytes)", n), fmt.Sprintf("内容过长（最多 %d 字节）", n))
	}
	return newMsg(fmt.Sprintf("is too long (at most %d characters)", n), fmt.Sprintf("内容过长（最多 %d 个字符）", n))
}

var (
	msgUnknownKind     = newMsg("unknown format kind", "未知的格式类型")
	msgMaskSpec        = newMsg("unknown or malformed mask spec", "未知或格式错误的脱敏规则")
	msgEmpty           = newMsg("is empty", "不能为空")
	msgInvalidUTF8     = newMsg("is not valid UTF-8 text", "不是有效的 UTF-8 文本")
	msgControlChars    = newMsg("contains control characters", "包含控制字符")
	msgMobile          = newMsg("is not a valid mainland China mobile number", "不是有效的中国大陆手机号码")
	msgMobileLen       = newMsg("must have 11 digits after the country code", "手机号码应为 11 位数字")
	msgMobileSegment   = newMsg("has a number segment not used for mobiles", "手机号码号段无效")
	msgName            = newMsg("may contain only Han or Latin letters, middle dots (·) and spaces", "姓名只能包含汉字、拉丁字母、间隔号（·）和空格")
	msgGender          = newMsg("must be 男, 女 or 未知 (male, female or unknown)", "性别应为“男”“女”或“未知”")
	msgYearMonth       = newMsg("must be a month YYYY-MM between 1900-01 and 2099-12", "应为 1900-01 至 2099-12 之间的年月（YYYY-MM）")
	msgDate            = newMsg("must be a date YYYY-MM-DD between 1900-01-01 and 2099-12-31", "应为 1900-01-01 至 2099-12-31 之间的有效日期（YYYY-MM-DD）")
	msgPlace           = newMsg("may contain only Chinese characters, ASCII and common punctuation", "只能包含汉字、ASCII 字符和常用标点")
	msgEmail           = newMsg("is not a valid e-mail address", "不是有效的电子邮箱地址")
	msgIDLen           = newMsg("must have 17 digits and a check character (0-9 or X)", "身份证号码应为 17 位数字加 1 位校验码（0-9 或 X）")
	msgIDRegion        = newMsg("has an invalid region code", "身份证号码的地区码无效")
	msgIDBirth         = newMsg("has an invalid date of birth", "身份证号码的出生日期无效")
	msgIDCheck         = newMsg("has a wrong check character", "身份证号码校验码错误")
	msgBankCard        = newMsg("must have 12 to 19 digits", "银行卡号应为 12 至 19 位数字")
	msgBankCardCheck   = newMsg("has a wrong check digit", "银行卡号校验失败")
	msgUSCC            = newMsg("must have 18 characters from 0-9 and A-Y without I, O, S, V, Z", "统一社会信用代码应为 18 位（数字或除 I、O、S、V、Z 外的大写字母）")
	msgUSCCCheck       = newMsg("has a wrong check character", "统一社会信用代码校验码错误")
	msgIP              = newMsg("is not a valid IPv4 or IPv6 address", "不是有效的 IPv4 或 IPv6 地址")
	msgDeviceID        = newMsg("must be an IMEI (15 digits), an Android ID (16 hex digits) or a MAC address", "设备标识应为 IMEI（15 位数字）、Android ID（16 位十六进制）或 MAC 地址")
	msgIMEICheck       = newMsg("is an IMEI with a wrong check digit", "IMEI 校验失败")
	msgMoneyFen        = newMsg("must be a whole number of fen from 0 to 1000000000000, without leading zeros", "金额应为 0 至 1000000000000 之间的整数（分），不含前导零")
	msgGeoPoint        = newMsg("must be \"lat,lng\" in decimal degrees (latitude -90..90, longitude -180..180)", "坐标应为“纬度,经度”十进制度数（纬度 -90..90，经度 -180..180）")
	msgJSON            = newMsg("must be a valid JSON object or array", "应为有效的 JSON 对象或数组")
	msgScore           = newMsg("must be a whole number from 0 to 1000, without leading zeros", "分数应为 0 至 1000 之间的整数，不含前导零")
	msgURL             = newMsg("must be an absolute http or https URL", "应为以 http 或 https 开头的完整网址")
	msgNoLetters       = newMsg("must contain at least one letter", "至少应包含一个文字")
	msgNameDotPosition = newMsg("may not start or end with a middle dot or have two in a row", "间隔号不能位于开头、结尾或连续出现")
)
