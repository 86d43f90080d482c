package dsrexport

import (
	"strings"

	"gigvault/internal/catalog"
)

// readmeText explains the archive, in zh-CN and then English. {{CONTACT}}
// is replaced by the operator's contact from the catalog.
const readmeText = `个人信息副本 / Copy of your personal information
格式 / Format: ` + Format + `

======================================================================
中文说明
======================================================================

本压缩包是应您的请求生成的个人信息副本（《个人信息保护法》第四十五条）。
其中的文件均可用文本编辑器打开，CSV 文件也可用电子表格软件打开。

文件
----
README.txt       本说明。
data.json        您的全部个人信息，按个人信息类别分组。每个类别（category）列出
                 其中的字段（field），每个字段给出：中文名称（zh）、英文名称（en）、
                 是否为敏感个人信息（sensitive，true 为是）、级别（level：1 为敏感
                 个人信息及最高保护级别，2 为一般个人信息，3 为仅用于统计的信息）、
                 来源（source）、处理目的（purposes）、保存期限（retention），以及
                 各条取值（values）：记录标识（record，单值字段为 main）、取值
                 （value）、收集时间（collected_at）、最近更新时间（updated_at）。
data.csv         与 data.json 相同的取值，每条一行。列依次为：category（类别）、
                 field（字段）、field_zh（中文名称）、field_en（英文名称）、
                 record（记录标识）、value（取值）、collected_at（收集时间）、
                 updated_at（更新时间）。
recipients.json  您的个人信息被提供给本平台以外接收方的记录（共享台账），每次提供
                 一条：台账编号（ledger_id）、时间（at）、接收方（recipient）、
                 接收方类型（recipient_kind）、目的（purpose）、合法性基础
                 （legal_basis）以及所提供的字段（fields）。只记录字段名称，
                 不含取值。
recipients.csv   与 recipients.json 相同的记录，每次提供一行。列依次为：at、
                 ledger_id、recipient、recipient_kind、purpose、purpose_zh、
                 purpose_en、legal_basis、fields（字段名，以分号分隔）、
                 fields_zh、fields_en。

格式
----
- 所有文件均为 UTF-8 编码。CSV 文件以 UTF-8 字节顺序标记（BOM）开头，便于电子
  表格软件正确显示中文；符合 RFC 4180：以英文逗号分隔，每行以 CRLF 结束，含逗号、
  双引号或换行的单元格用双引号括起，其中的双引号写作两个双引号。
- 时间为 RFC 3339 格式的协调世界时（UTC），例如 2026-11-02T09:00:00Z，北京时间为
  UTC+8。未知的时间在 JSON 中为 null，在 CSV 中为空。
- 为防止电子表格软件把单元格内容当作公式执行（CSV 注入），CSV 文件中以 =、+、-、@、
  制表符、回车或单引号（'）开头的单元格前加了一个单引号。去掉开头的这一个单引号
  即得原值。JSON 文件中的取值未作此处理，为原样。
- 保存期限（retention）：account 为账户存续期间；account+30d 为账户注销后再保存
  30 天；3y、6m、30d 为自收集起 3 年、6 个月、30 天（y 年，m 月，d 日）；request
  为仅用于单次请求、不保存。
- 来源（source）：subject 由您提供；automatic 在您使用服务时自动产生；derived 由
  其他信息推导生成；third_party 来自第三方；employer 由招聘方提供。
- 接收方类型（recipient_kind）：sdk 第三方 SDK；recipient 独立的个人信息接收方；
  processor 受托处理者；employer 招聘方；subject_named 您指定的接收方。
- 合法性基础（legal_basis）：consent 取得您的同意；contract 订立、履行您作为一方
  当事人的合同所必需；legal_obligation 履行法定职责或法定义务所必需；
  vital_interest 为应对突发公共卫生事件或紧急情况下保护生命健康和财产安全所必需；
  public_interest 为公共利益实施新闻报道、舆论监督；published_data 处理已公开的
  个人信息。

如有疑问，或认为副本不完整、不准确，请联系：{{CONTACT}}

======================================================================
English
======================================================================

This archive is the copy of your personal information you asked for
(Personal Information Protection Law, article 45). Every file opens in a
text editor; the CSV files also open in a spreadsheet.

Files
-----
README.txt       This explanation.
data.json        All your personal information, grouped by category. Each
                 category lists its fields, each field with its Chinese name
                 (zh), English name (en), whether it is sensitive personal
                 information (sensitive), its level (1: sensitive, highest
                 protection; 2: ordinary; 3: statistics only), its source,
                 the purposes it is processed for, how long it is kept
                 (retention), and its values: the record ID (record; "main"
                 for single-valued fields), the value, when it was collected
                 (collected_at) and last updated (updated_at).
data.csv         The same values, one row each. Columns: category, field,
                 field_zh, field_en, record, value, collected_at, updated_at.
recipients.json  Every provision of your personal information to a recipient
                 outside the platform (the sharing ledger), one entry each:
                 ledger ID (ledger_id), time (at), recipient, recipient kind
                 (recipient_kind), purpose, legal basis (legal_basis) and the
                 fields provided — their names only, not the values.
recipients.csv   The same entries, one row each. Columns: at, ledger_id,
                 recipient, recipient_kind, purpose, purpose_zh, purpose_en,
                 legal_basis, fields (field names separated by semicolons),
                 fields_zh, fields_en.

Formats
-------
- Every file is UTF-8. The CSV files start with a UTF-8 byte order mark, so
  spreadsheets show Chinese correctly, and follow RFC 4180: comma-separated,
  every row ended by CRLF, a cell holding a comma, a double quote or a line
  break enclosed in double quotes, with double quotes inside doubled.
- Times are RFC 3339 in UTC, e.g. 2026-11-02T09:00:00Z (Beijing time is
  UTC+8). An unknown time is null in JSON and empty in CSV.
- So that a spreadsheet never runs a cell as a formula (CSV injection), a
  CSV cell starting with =, +, -, @, a tab, a carriage return or an
  apostrophe (') has an apostrophe added in front. Remove that one leading
  apostrophe to get the value. The JSON files hold the values unchanged.
- Retention: "account" is while the account exists; "account+30d" is until
  30 days after the account is closed; "3y", "6m", "30d" are 3 years, 6
  months, 30 days after collection; "request" is used for one request only
  and never kept.
- Source: subject (you provided it), automatic (generated as you use the
  service), derived (computed from other information), third_party (from a
  third party), employer (provided by an employer).
- Recipient kind: sdk (a third-party SDK), recipient (an independent
  recipient), processor (a processor acting for the platform), employer,
  subject_named (a recipient you named).
- Legal basis: consent (your consent); contract (necessary for a contract
  you are party to); legal_obligation (necessary for a legal duty or
  obligation); vital_interest (necessary to protect life, health or property
  in an emergency); public_interest (news reporting and public-opinion
  supervision in the public interest); published_data (information already
  made public).

If you have a question, or believe this copy is incomplete or wrong,
contact: {{CONTACT}}
`

// readme renders README.txt: a BOM (so that older editors take it for
// UTF-8), the text with the operator's contact, CRLF line ends.
func readme(cat *catalog.Catalog) []byte {
	var names []string
	for _, n := range []string{cat.Operator.NameZh, cat.Operator.NameEn} {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	contact := strings.Join(names, " / ") + " — " + strings.TrimSpace(cat.Operator.Contact)
	s := strings.ReplaceAll(readmeText, "{{CONTACT}}", contact)
	return []byte(bom + strings.ReplaceAll(s, "\n", "\r\n"))
}
