package catalog

// categoryLabels name the categories as the App compliance guide's
// appendix A does.
var categoryLabels = map[Category][2]string{
	"basic":            {"个人基本资料", "Basic personal details"},
	"identity":         {"个人身份信息", "Identity information"},
	"biometric":        {"个人生物识别信息", "Biometric information"},
	"network_identity": {"网络身份标识信息", "Network identity information"},
	"health":           {"个人健康生理信息", "Health and physiological information"},
	"education_work":   {"个人教育工作信息", "Education and work information"},
	"property":         {"个人财产信息", "Property information"},
	"communication":    {"个人通信信息", "Communication information"},
	"contacts":         {"联系人信息", "Contacts"},
	"online_records":   {"个人上网记录", "Online activity records"},
	"device":           {"个人常用设备信息", "Device information"},
	"location":         {"个人位置信息", "Location information"},
	"other":            {"其他信息", "Other information"},
}

// Labels names the category in zh-CN and English as the App compliance
// guide's appendix A does; an unknown category is named by itself.
func (c Category) Labels() (zh, en string) {
	if n, ok := categoryLabels[c]; ok {
		return n[0], n[1]
	}
	return string(c), string(c)
}
