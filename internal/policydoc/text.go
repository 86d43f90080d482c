package policydoc

import (
	"fmt"
	"slices"

	"gigvault/internal/cryptox"
)

// The fixed parts of the documents: what gigvault does, not what it
// collects (that comes from the registries). Each is data, in both
// languages, so that a published document's JSON carries its whole text.

type exception struct {
	id, zh, en string
	purposes   []string // catalog purposes gigvault processes under it without consent
}

// exceptions are the cases in which PI is processed without consent (PIPL
// art. 13, as A-个人信息保护政策 m asks the policy to list them), with the
// purposes that rest on them (CON-13).
var exceptions = []exception{
	{"contract",
		"为订立、履行您作为一方当事人的合同所必需，或者按照依法制定的劳动规章制度和依法签订的集体合同实施人力资源管理所必需",
		"Necessary to conclude or perform a contract to which you are a party, or for human-resources management under lawfully made labour rules and collective contracts",
		[]string{"customer_service"}},
	{"legal_duty",
		"为履行法定职责或者法定义务所必需（如履行网络安全保护义务、依法留存记录、配合监管要求）",
		"Necessary to perform a statutory duty or obligation (such as network-security obligations, keeping records the law requires, and meeting regulatory requirements)",
		[]string{"legal_compliance", "security_risk_control", "rights_request"}},
	{"emergency",
		"为应对突发公共卫生事件，或者紧急情况下为保护自然人的生命健康和财产安全所必需",
		"Necessary to respond to a public-health emergency, or in an emergency to protect the life, health or property of a natural person",
		nil},
	{"news",
		"为公共利益实施新闻报道、舆论监督等行为，在合理的范围内处理个人信息",
		"Processing within a reasonable scope for news reporting or supervision by public opinion in the public interest",
		nil},
	{"public",
		"依照法律规定在合理的范围内处理您自行公开或者其他已经合法公开的个人信息",
		"Processing, within a reasonable scope and as the law provides, personal information you made public yourself or that has otherwise been lawfully made public",
		nil},
	{"other_law",
		"法律、行政法规规定的其他情形",
		"Other cases provided by laws and administrative regulations",
		nil},
}

// LegalBasisPurposes returns the catalog purposes gigvault processes on a
// legal-basis exception rather than consent (CON-13), in order. A function
// serving only these has no consent scope.
func LegalBasisPurposes() []string {
	var out []string
	for _, e := range exceptions {
		for _, p := range e.purposes {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// measures are the protection measures gigvault really takes, naming the
// algorithms of the suite in use.
func measures(s cryptox.Suite) []Text {
	sym, dig, sig, introZh, introEn := "SM4", "SM3", "SM2", "采用国家商用密码算法：", "National commercial cryptography: "
	if s != nil && s.Name() == "aes" {
		sym, dig, sig, introZh, introEn = "AES-256", "SHA-256", "ECDSA P-256", "", ""
	}
	return []Text{
		{fmt.Sprintf("分层加密存储：每一位用户的个人信息使用其专属的数据密钥，以 %s（GCM 认证加密）加密后存储，密文与所属用户、字段和记录绑定；数据密钥再由密钥管理系统中的密钥加密密钥加密保护并定期轮换。数据库、日志和备份中不保存个人信息明文。", sym),
			fmt.Sprintf("Layered encryption: each person's personal information is encrypted with a data key of their own using %s (GCM authenticated encryption), bound to the person, field and record; the data keys are themselves encrypted under key-encryption keys held in a key-management system and rotated. No personal information is kept in plain text in the database, logs or backups.", sym)},
		{fmt.Sprintf("%s以 %s 计算摘要和消息认证码（用于完整性校验和检索用的盲索引），以 %s 对审计检查点和同意回执进行数字签名。", introZh, dig, sig),
			fmt.Sprintf("%s%s digests and message authentication codes (for integrity checks and the blind indexes used for look-ups), and %s signatures on audit checkpoints and consent receipts.", introEn, dig, sig)},
		{"默认脱敏展示：任何页面和导出中的个人信息默认以脱敏形式展示（如手机号码显示为 138****5678）；工作人员查看完整信息须具备相应权限并说明理由，且留有审计记录。",
			"Masking by default: personal information on every screen and in every export is masked by default (a mobile number shows as 138****5678); staff see a whole value only with the permission to, after giving a reason, and the access is audited."},
		{"基于目的和同意的访问控制：每一次访问个人信息都须说明目的，并按角色、个人信息的分类分级标签、您的同意状态和审批情况逐次判定；安全管理、审计管理和系统管理职责相互分离，工作人员登录须通过口令和动态验证码双因素认证。",
			"Access bound to purpose and consent: every access to personal information states its purpose and is decided each time on the role, the information's classification labels, your consent and any approval; security, audit and system administration are separate roles, and staff log in with a password and a one-time code."},
		{"防篡改审计日志：对个人信息的每一次访问和变更都记录操作人、时间、对象和目的；审计记录以哈希链相连并定期经数字签名固定，任何删除或篡改均可被发现，保存不少于六个月。",
			"Tamper-evident audit log: every access to and change of personal information is recorded with who, when, what and why; entries are hash-chained and regularly sealed by signed checkpoints, so any deletion or alteration is detected, and kept for at least six months."},
		{"双人审批：批量导出、下载、修改个人信息，以及超出个人权限额度的处理，须经另一名有权人员审批后方可执行，且只能按审批的内容执行一次。",
			"Four-eyes approval: bulk export, download and modification of personal information, and processing beyond a person's limit, need the approval of a second authorised person and run once, for exactly what was approved."},
		{"到期删除：系统按本政策载明的保存期限定期清理，到期的个人信息予以删除或匿名化；删除您的全部个人信息（如注销账户）时销毁您专属的数据密钥，备份中的副本随之无法读取。",
			"Retention sweeps: information is swept regularly against the retention periods in this policy and deleted or anonymised when they end; erasing all of your personal information (when you close your account, for example) destroys your data key, so copies in backups can no longer be read either."},
		{"安全事件告知：发生个人信息安全事件时，我们将及时以推送、短信、邮件等方式告知您事件涉及的个人信息种类、原因和可能造成的危害、我们已采取的补救措施、您可以采取的减轻危害的措施以及我们的联系方式；难以逐一告知时发布公告，并依法向主管部门报告。",
			"Incident notification: if a personal-information security incident happens we promptly tell you, by push notification, SMS or email, which kinds of personal information are involved, the cause and the possible harm, the remedies we have taken, what you can do to reduce the harm, and how to contact us; where we cannot reach everyone we publish a notice, and we report to the competent authorities as the law requires."},
	}
}

func storageTexts() []Text {
	return []Text{
		{"我们在中华人民共和国境内运营中收集和产生的个人信息，存储于中华人民共和国境内。目前我们不向境外提供个人信息；如确需向境外提供，我们将事先依法进行评估，告知您境外接收方的名称、联系方式、处理目的、处理方式和个人信息种类，并单独征得您的同意。",
			"Personal information collected and generated in our operations in the People's Republic of China is stored in mainland China. We do not currently provide personal information abroad; should that ever be needed, we would first carry out the assessment the law requires, tell you the foreign recipient's name and contact, the purpose, the method and the kinds of information, and ask for your separate consent."},
		{"我们仅在实现处理目的所必要的最短期限内保存您的个人信息，各类个人信息的保存期限如下；期限届满后予以删除或匿名化。法律要求保存的记录，在您注销账户后与账户解除关联、单独保存，不用于日常业务。",
			"We keep your personal information only for the shortest time its purposes need; the retention of each kind is listed below, after which it is deleted or anonymised. Records the law requires us to keep are, once you close your account, unlinked from it, kept apart and not used in daily business."},
	}
}

const requestsAPI = "POST /v1/me/requests"

// rights are the user's rights and how to use them (DSR-1 to DSR-7,
// CON-9, CON-12); contact is the operator's contact for complaints.
func rights(contact string) []Right {
	d := AnswerWithinWorkingDays
	return []Right{
		{ID: "access_copy", NameZh: "查阅、复制", NameEn: "Access and copy",
			HowZh: "登录后在“我的”页面查看，或通过 GET /v1/me 以机器可读的 JSON 格式获取您的个人信息副本，包括其来源、处理目的以及曾接收您个人信息的第三方。",
			HowEn: "After logging in, see it under “Me”, or fetch a machine-readable JSON copy of your personal information with GET /v1/me, including its sources, its purposes and the third parties that received it.",
			API:   "GET /v1/me"},
		{ID: "correction", NameZh: "更正、补充", NameEn: "Correction and completion",
			HowZh: fmt.Sprintf("在“我的”页面直接修改；无法自行修改的，可提交更正请求（%s，type=correction），我们核实后在 %d 个工作日内处理。", requestsAPI, d),
			HowEn: fmt.Sprintf("Change it yourself under “Me”; what you cannot change yourself, ask us to correct (%s, type=correction) and we handle it within %d working days after checking.", requestsAPI, d),
			API:   requestsAPI},
		{ID: "deletion", NameZh: "删除", NameEn: "Deletion",
			HowZh: fmt.Sprintf("处理目的已实现、无法实现或者不再必要，我们停止提供服务或者保存期限已届满，您撤回同意，或者我们违反法律法规或约定处理您的个人信息的，您可以提交删除请求（%s，type=deletion）。我们在 %d 个工作日内删除，并通知曾接收该信息的第三方删除；法律规定须保存的，停止除存储和必要的安全保护之外的处理。", requestsAPI, d),
			HowEn: fmt.Sprintf("Where a purpose has been achieved, cannot be achieved or no longer needs the information, where we stop the service or the retention period has ended, where you withdraw consent, or where we process in breach of the law or our agreement, ask us to delete it (%s, type=deletion). We delete it within %d working days and tell the third parties that received it to delete it too; what the law requires us to keep is only stored and protected, nothing more.", requestsAPI, d),
			API:   requestsAPI},
		{ID: "withdraw_consent", NameZh: "撤回同意", NameEn: "Withdrawing consent",
			HowZh: "在“设置—隐私”中随时关闭相应功能，或调用 POST /v1/me/consents/{scope}/withdraw。撤回与给予同意同样便捷；撤回后我们停止相应的处理，但不影响撤回前基于同意已进行的处理，也不影响其他功能的使用。您可以随时拒绝营销信息和个性化推荐。",
			HowEn: "Switch the function off under “Settings – Privacy” at any time, or call POST /v1/me/consents/{scope}/withdraw. Withdrawing is as easy as consenting; afterwards we stop that processing, without affecting what was done on your consent before or any other function. You may refuse marketing and personalised recommendations at any time.",
			API:   "POST /v1/me/consents/{scope}/withdraw"},
		{ID: "cancellation", NameZh: "注销账户", NameEn: "Account cancellation",
			HowZh: fmt.Sprintf("在“我的—设置—账号与安全—注销账户”申请注销（不超过五步）。注销前我们会说明注销的后果并请您两次确认；我们在 %d 个工作日内完成注销，删除或匿名化您的个人信息。法律要求保存的记录（保存期限见《隐私政策》“我们如何存储和保护您的个人信息”）与账户解除关联后单独保存，不用于日常业务。", d),
			HowEn: fmt.Sprintf("Apply under “Me – Settings – Account and security – Close account” (five steps at most). Before you close it we explain what closing means and ask you to confirm twice; we complete it within %d working days and delete or anonymise your personal information. Records the law requires us to keep (for the periods in the Privacy Policy, “How we store and protect your personal information”) are unlinked from the account, kept apart and not used in daily business.", d),
			API:   requestsAPI},
		{ID: "explanation", NameZh: "要求解释说明", NameEn: "Explanation of the rules",
			HowZh: fmt.Sprintf("您可以要求我们解释本政策和我们处理个人信息的规则（%s，type=explanation）；对通过自动化决策作出的、对您的权益有重大影响的决定，您有权要求我们说明，并拒绝仅通过自动化决策作出决定，可申请人工复核。我们在 %d 个工作日内答复。", requestsAPI, d),
			HowEn: fmt.Sprintf("You may ask us to explain this policy and the rules by which we process personal information (%s, type=explanation); for a decision made by automated means that significantly affects your rights you may ask for an explanation, refuse a decision made by automated means alone and ask for human review. We answer within %d working days.", requestsAPI, d),
			API:   requestsAPI},
		{ID: "complaint", NameZh: "投诉、举报", NameEn: "Complaints",
			HowZh: fmt.Sprintf("您可以向我们的个人信息保护负责人投诉、举报（%s），或通过 %s（type=complaint）提交，我们在 %d 个工作日内答复；对答复不满意的，您还可以向网信、公安、市场监管等主管部门投诉。", contact, requestsAPI, d),
			HowEn: fmt.Sprintf("Complain to our personal-information protection officer (%s), or through %s (type=complaint); we answer within %d working days. If you are not satisfied with the answer you may also complain to the cyberspace, public-security or market-regulation authorities.", contact, requestsAPI, d),
			API:   requestsAPI},
	}
}

func rightsNote() []Text {
	d := AnswerWithinWorkingDays
	return []Text{
		{"为保障安全，在处理您的请求前，我们会先以短信验证码等方式核验您的身份。",
			"To keep your information safe we verify your identity, for example with an SMS code, before carrying out a request."},
		{fmt.Sprintf("我们在收到请求之日起 %d 个工作日内答复（工作日按国家法定节假日和调休安排计算）；拒绝的，我们会说明理由。", d),
			fmt.Sprintf("We answer within %d working days of receiving a request (working days follow the national public holidays and make-up working days); if we refuse we explain why.", d)},
	}
}

func minorsTexts() []Text {
	return []Text{
		{"我们的服务主要面向成年人。不满十四周岁的儿童须在监护人的单独同意下使用我们的服务，我们按照单独的《儿童个人信息保护规则》处理儿童个人信息。",
			"Our service is meant mainly for adults. A child under 14 may use it only with a guardian's separate consent, and we process children's personal information under the separate Children's Personal Information Protection Rules."},
		{"已满十四周岁不满十八周岁的未成年人，可以自行同意本政策，也可以由监护人代为同意。",
			"A minor aged 14 to 17 may agree to this policy themselves or through a guardian."},
	}
}

func updateTexts() []Text {
	return []Text{
		{"本政策更新时，我们会在本页面发布新版本，写明版本号、生效日期和变更摘要。",
			"When this policy changes we publish the new version on this page with its version number, effective date and a summary of the changes."},
		{"重大变更——如处理目的、处理的个人信息种类、处理方式、主要的共享对象、您行使权利的方式或我们的联系方式发生变化——生效前，我们会以弹窗等显著方式通知您，并重新征得您的同意。",
			"Before a material change takes effect — a change in the purposes, the kinds of personal information processed, how it is processed, the main recipients, how you exercise your rights, or how to contact us — we tell you prominently, for example in a pop-up, and ask for your consent again."},
	}
}

// childRules are the children's policy's own rules (CON-8).
func childRules() []Text {
	return []Text{
		{"本规则适用于不满十四周岁的儿童及其监护人。我们的服务主要面向成年人；儿童使用前，须由其父母或其他监护人阅读本规则和《隐私政策》，并作出单独的同意。",
			"These rules apply to children under 14 and their guardians. Our service is meant mainly for adults; before a child uses it, a parent or other guardian must read these rules and the Privacy Policy and give a separate consent."},
		{"监护人同意时，我们会核验监护人的身份，并记录其与儿童的关系（父母或法定监护人）。未经监护人同意，我们不收集儿童的任何个人信息；如发现在未取得可证实的监护人同意的情况下收集了儿童的个人信息，我们会尽快删除。",
			"When a guardian consents we verify the guardian's identity and record their relationship to the child (parent or legal guardian). Without a guardian's consent we collect no personal information from a child; if we find we have collected a child's personal information without verifiable guardian consent, we delete it as soon as possible."},
		{"已满十四周岁不满十八周岁的未成年人，可以自行同意，也可以由监护人代为同意。",
			"A minor aged 14 to 17 may consent themselves or through a guardian."},
		{"儿童的个人信息均属于敏感个人信息。我们仅为实现下列功能所必需处理，仅限于经授权的工作人员按最小必要原则访问，未经监护人单独同意不向第三方提供。",
			"All of a child's personal information is sensitive personal information. We process it only as the functions below need, only authorised staff may access it on a least-privilege basis, and it is not provided to any third party without the guardian's separate consent."},
		{"儿童个人信息的存储地点、保存期限和安全保护措施与《隐私政策》相同；发生安全事件时，我们会告知监护人。",
			"Children's personal information is stored, kept and protected as the Privacy Policy describes; if a security incident happens we tell the guardian."},
	}
}
