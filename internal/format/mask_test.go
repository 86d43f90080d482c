package format

import (
	"errors"
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	for _, tc := range []struct{ spec, in, want string }{
		// keep:F:L — fixed four stars, so the length is not revealed
		{"keep:3:4", "15312342212", "153****2212"},
		{"keep:1:1", "51010519900307291X", "5****X"},
		{"keep:4:4", "6222021234567890128", "6222****0128"},
		{"keep:4:4", "622202123456781234", "6222****1234"},
		{"keep:3:4", "  15312342212 ", "153****2212"},
		{"keep:1:1", "张三丰", "张****丰"},
		{"keep:3:4", "1234567", Stars}, // F+L runes: keeping would show everything
		{"keep:3:4", "12345678", "123****5678"},
		{"keep:3:4", "123", Stars},
		{"keep:0:4", "15312342212", "****2212"},
		{"keep:0:0", "15312342212", Stars},
		{"keep:2:0", "福建省福州市", "福建****"},
		// name — one star per hidden rune, at least one
		{"name", "张三丰", "张**"},
		{"name", "张三", "张*"},
		{"name", "张", "*"},
		{"name", "欧阳娜娜", "欧***"},
		{"name", "买买提·艾力", "买*****"},
		{"name", "Zhang San", "Z********"},
		{"name", "𠮷田", "𠮷*"},
		// email
		{"email", "zhangsan@163.com", "z***@163.com"},
		{"email", "z@qq.com", "z***@qq.com"},
		{"email", "张三@163.com", "张***@163.com"},
		{"email", "a@b@163.com", "a***@163.com"},
		{"email", "zhangsan", Stars},
		{"email", "@163.com", Stars},
		// year
		{"year", "1990-03", "1990-**"},
		{"year", "1990-03-07", "1990-**-**"},
		{"year", "1990/3/7", "1990/**/**"},
		{"year", "1990-03-07T08:00:00Z", "1990-**-**"},
		{"year", "1990年3月", "1990年**月"},
		{"year", "1990年3月7日", "1990年**月**日"},
		{"year", "19900307", "1990****"},
		{"year", "199003", "1990**"},
		{"year", "1990", "1990"},
		{"year", "March 1990", Stars},
		{"year", "1990-----", Stars},
		// area
		{"area", "福建省福州市仓山区建新镇金工路2号", "福建省福州市****"},
		{"area", "北京市朝阳区建国路88号", "北京市****"},
		{"area", "上海市浦东新区世纪大道100号", "上海市****"},
		{"area", "北京朝阳区建国路88号", "北京****"},
		{"area", "广东省深圳市南山区科技园", "广东省深圳市****"},
		{"area", "浙江省杭州市西湖区文三路", "浙江省杭州市****"},
		{"area", "贵州省贵阳市南明区", "贵州省贵阳市****"},
		{"area", "山东省济南市市中区经四路", "山东省济南市****"},
		{"area", "广西壮族自治区南宁市青秀区", "广西壮族自治区南宁市****"},
		{"area", "新疆维吾尔自治区阿克苏地区阿克苏市", "新疆维吾尔自治区阿克苏地区****"},
		{"area", "新疆维吾尔自治区克孜勒苏柯尔克孜自治州阿图什市", "新疆维吾尔自治区克孜勒苏柯尔克孜自治州****"},
		{"area", "四川省凉山彝族自治州西昌市", "四川省凉山彝族自治州****"},
		{"area", "内蒙古自治区锡林郭勒盟锡林浩特市", "内蒙古自治区锡林郭勒盟****"},
		{"area", "香港特别行政区九龙弥敦道", "香港特别行政区****"},
		{"area", "福州市仓山区金工路", "福州市****"},
		{"area", "广州天河区体育西路", "广州****"},
		{"area", "河南省郑州市", "河南省郑州市****"},
		{"area", "广东省广州天河区体育西路", "广东省广州****"},
		{"area", "仓山区金工路2号旁边的华润万家超市", "仓山区****"},
		{"area", "福州", "福州****"},
		// truncate
		{"truncate:3", "你好世界", "你好世…"},
		{"truncate:4", "你好世界", "你好世界"},
		{"truncate:10", "你好", "你好"},
		{"truncate:1", "ab", "a…"},
		// redact, none
		{"redact", "15312342212", Stars},
		{"redact", "x", Stars},
		{"none", " 福州市 ", " 福州市 "},
		{"none", "", ""},
		// empty and invalid input
		{"keep:3:4", "", Stars},
		{"name", "   ", Stars},
		{"area", "", Stars},
		{"keep:1:1", "\xffabc\xfe", "\uFFFD****\uFFFD"},
		{"keep:1:1", "\xff\xfe\xfd\xfc", Stars},
	} {
		got, err := Mask(tc.spec, tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Mask(%q, %q) = %q, %v; want %q", tc.spec, tc.in, got, err, tc.want)
		}
	}
}

func TestValidateMaskSpec(t *testing.T) {
	good := []string{
		"keep:3:4", "keep:0:0", "keep:64:64", "keep:1:1", "name", "email", "year",
		"area", "truncate:1", "truncate:10000", "redact", "none",
	}
	bad := []string{
		"", "keep", "keep:", "keep:3", "keep:3:", "keep::4", "keep:3:4:5", "keep:-1:4",
		"keep:03:4", "keep:+3:4", "keep:65:0", "keep:a:b", "keep: 3:4", "Keep:3:4",
		"name:1", "none:", "truncate", "truncate:", "truncate:0", "truncate:10001",
		"truncate:-1", "truncate:1.5", "mask", "REDACT", " redact", "keep:3:4 ",
	}
	for _, s := range good {
		if err := ValidateMaskSpec(s); err != nil {
			t.Errorf("ValidateMaskSpec(%q) = %v", s, err)
		}
	}
	for _, s := range bad {
		err := ValidateMaskSpec(s)
		var fe *Error
		if !errors.As(err, &fe) || fe.Code != CodeInvalidMaskSpec {
			t.Errorf("ValidateMaskSpec(%q) = %v, want code %s", s, err, CodeInvalidMaskSpec)
		}
		out, err := Mask(s, "15312342212")
		if !errors.As(err, &fe) || fe.Code != CodeInvalidMaskSpec || out != "" {
			t.Errorf("Mask(%q, …) = %q, %v; want code %s", s, out, err, CodeInvalidMaskSpec)
		}
		if err != nil && strings.Contains(err.Error(), "15312342212") {
			t.Errorf("Mask error %q contains the value", err)
		}
	}
}

// TestMaskNormalized masks the normalised form of each valid table value with
// every spec, as the vault does, and checks the output is never the value.
func TestMaskNormalized(t *testing.T) {
	specs := []string{"keep:3:4", "keep:1:1", "name", "email", "year", "area", "truncate:4", "redact"}
	for _, tc := range validateCases {
		if tc.code != "" {
			continue
		}
		norm, err := Normalize(tc.kind, tc.in)
		if err != nil {
			t.Fatal(err)
		}
		for _, spec := range specs {
			out, err := Mask(spec, norm)
			if err != nil {
				t.Fatalf("Mask(%q): %v", spec, err)
			}
			if len([]rune(norm)) >= 8 && out == norm {
				t.Errorf("Mask(%q, %q) returned the value unchanged", spec, norm)
			}
		}
	}
}
