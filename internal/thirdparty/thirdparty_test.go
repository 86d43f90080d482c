package thirdparty_test

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gigvault/internal/catalog"
	"gigvault/internal/thirdparty"
)

var cat = catalog.Default()

// sdkTable is the SDK table of privacy policy 004 (P-四), name and developer,
// in order, as written there.
var sdkTable = [][2]string{
	{"网易七鱼", "广州网易计算机系统有限公司"},
	{"友盟", "友盟同欣(北京)科技有限公司"},
	{"高德地图", "阿里巴巴集团"},
	{"极光推送", "深圳市和讯华谷信息技术有限公司"},
	{"Vivo 推送", "广东天宸网络科技有限公司"},
	{"小米推送", "小米科技有限责任公司"},
	{"OPPO推送", "广东欧珀移动通信有限公司"},
	{"华为移动服务", "华为终端有限公司"},
	{"Sausung Mobile SDKs", "深圳市和讯华谷信息技术有限公司"},
	{"魅族云", "珠海市魅族通讯设备有限公司"},
	{"闪验SDK", "上海创蓝文化传播有限公司"},
	{"变现猫", "杭州微财网络科技有限公司"},
	{"穿山甲", "北京巨量引擎网络技术有限公司"},
	{"云蜻", "北京云蜻网络科技有限公司"},
	{"网易云信", "杭州网易质云科技有限公司"},
	{"MOB ShareSDK", "上海游昆信息技术有限公司"},
	{"阿里支付", "支付宝(杭州)信息技术有限公司"},
	{"百度统计", "北京百度网讯科技有限公司"},
	{"百度广告", "北京百度网讯科技有限公司"},
	{"微信开放平台", "深圳市腾讯计算机系统有限公司"},
	{"今日头条广告", "北京巨量引擎网络技术有限公司"},
	{"广点通广告", "深圳市腾讯计算机系统有限公司"},
}

// The embedded registry validates, is marked demo, and holds every row of
// 004's SDK table with its original PI description.
func TestDefaultRegistry(t *testing.T) {
	r := thirdparty.Default(cat)
	if !r.Demo {
		t.Error("default registry is not marked demo")
	}
	var sdks []thirdparty.Entry
	for _, e := range r.Entries() {
		if e.Kind == thirdparty.SDK {
			sdks = append(sdks, e)
		}
	}
	if len(sdks) != len(sdkTable) {
		t.Fatalf("%d sdk entries, want the %d rows of 004's table", len(sdks), len(sdkTable))
	}
	for i, row := range sdkTable {
		e := sdks[i]
		if e.Name != row[0] || e.Developer != row[1] {
			t.Errorf("row %d = %q / %q, want %q / %q", i+1, e.Name, e.Developer, row[0], row[1])
		}
		if e.PIZh == "" || len(e.Fields) == 0 || e.PurposeZh == "" || e.PurposeEn == "" || e.ContractRef == "" || e.PIARef == "" {
			t.Errorf("row %d (%s) incomplete: %+v", i+1, e.Name, e)
		}
		if e.PolicyURL != "" && !strings.HasPrefix(e.PolicyURL, "http") {
			t.Errorf("row %d link %q", i+1, e.PolicyURL)
		}
	}
	umeng, ok := r.Entry("umeng")
	if !ok || umeng.PolicyURL != "https://www.umeng.com/policy" || !slices.Contains(umeng.Fields, "ip_address") ||
		!strings.Contains(umeng.PIZh, "国际移动设备识别码(IMEI)") {
		t.Errorf("umeng = %+v", umeng)
	}
	if got := r.ForField("resume_text"); len(got) != 1 || got[0].ID != "employers" || got[0].Kind != thirdparty.Recipient {
		t.Errorf("ForField(resume_text) = %+v", got)
	}
	// Entries() is a copy.
	es := r.Entries()
	es[0].Fields[0] = "changed"
	if e, _ := r.Entry(es[0].ID); e.Fields[0] == "changed" {
		t.Error("Entries() shares memory with the registry")
	}
	if _, ok := r.Entry("nobody"); ok {
		t.Error("unknown entry found")
	}
}

// Gaps names what the demo data still lacks: links, contracts, catalog
// purposes for the advertising SDKs.
func TestGaps(t *testing.T) {
	gaps := thirdparty.Default(cat).Gaps(cat)
	has := func(entry, problem string) bool {
		return slices.ContainsFunc(gaps, func(g thirdparty.Gap) bool {
			return g.Entry == entry && strings.Contains(g.Problem, problem)
		})
	}
	if !has("amap", "no privacy-policy link") || !has("pangle", "no catalog purpose") || !has("tax_authority", "no contract") {
		t.Errorf("gaps = %v", gaps)
	}
	if has("umeng", "privacy-policy link") || has("employers", "") {
		t.Errorf("false gaps: %v", gaps)
	}
	good, err := thirdparty.Load("testdata/good.yaml", cat)
	if err != nil {
		t.Fatal(err)
	}
	want := []thirdparty.Gap{{"employers", "no contract reference"}, {"employers", "no impact-assessment reference"}}
	if g := good.Gaps(cat); !slices.Equal(g, want) {
		t.Errorf("good.yaml gaps = %v, want %v", g, want)
	}
}

func TestBadRegistries(t *testing.T) {
	if _, err := thirdparty.Load("testdata/good.yaml", cat); err != nil {
		t.Fatalf("good.yaml: %v", err)
	}
	cases := []struct {
		file string
		line int
		want string
	}{
		{"bad_unknown_field.yaml", 13, `unknown catalog field "aura_colour"`},
		{"bad_missing_name.yaml", 17, "missing name"},
		{"bad_blank_name.yaml", 19, "missing name"},
		{"bad_url_scheme.yaml", 14, "must be an http or https URL"},
		{"bad_url_nohost.yaml", 14, "has no host"},
		{"bad_url_space.yaml", 14, "contains spaces"},
		{"bad_url_chars.yaml", 14, "not allowed in a URL"},
		{"bad_duplicate_id.yaml", 17, `duplicate id "jpush" (first at line 4)`},
		{"bad_kind.yaml", 18, `kind must be sdk, recipient or processor, not "friend"`},
		{"bad_sdk_developer.yaml", 4, "an sdk needs its developer"},
		{"bad_unknown_purpose.yaml", 22, `purpose "mind_reading" is not declared`},
		{"bad_no_fields.yaml", 17, "list the catalog fields"},
		{"bad_field_twice.yaml", 23, `field "resume_text" is listed twice`},
		{"bad_no_purpose_text.yaml", 20, "purpose_zh and purpose_en are required"},
		{"bad_unknown_key.yaml", 4, "field colour not found"},
		{"bad_id.yaml", 17, "must be snake_case"},
		{"bad_version.yaml", 1, "version must be 1"},
		{"bad_not_yaml.yaml", 1, ""},
		{"bad_cross_border_no_pia.yaml", 4, "needs its impact assessment"},
		{"bad_location.yaml", 11, "ISO 3166 country code"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			_, err := thirdparty.Load(path, cat)
			var te *thirdparty.Error
			if !errors.As(err, &te) {
				t.Fatalf("err = %#v, want *thirdparty.Error", err)
			}
			if te.File != path || te.Line != tc.line || !strings.Contains(te.Problem, tc.want) {
				t.Fatalf("err = %v; want %s:%d mentioning %q", err, path, tc.line, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "thirdparty "+path+":") {
				t.Fatalf("message %q does not start with the file", err)
			}
		})
	}
	if _, err := thirdparty.Load(filepath.Join(t.TempDir(), "missing.yaml"), cat); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := thirdparty.Parse([]byte("version: 1\n"), nil); err == nil {
		t.Fatal("nil catalog accepted")
	}
}
