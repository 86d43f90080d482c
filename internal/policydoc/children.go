package policydoc

import "time"

// Children is the separate children's policy (儿童个人信息保护规则) for
// users under 14 and their guardians (CON-8).
type Children struct {
	Header
	Rules []Text `json:"rules"`
	// Functions are the same business functions as the policy's, with every
	// child's PI marked sensitive (PIPL art. 28).
	Functions               []Function `json:"functions"`
	GuardianRights          []Right    `json:"guardian_rights"`
	RightsNote              []Text     `json:"rights_note"`
	AnswerWithinWorkingDays int        `json:"answer_within_working_days"`
	StorageLocation         string     `json:"storage_location"`
}

// RenderChildren renders the children's policy for m.
func RenderChildren(src Sources, m Meta) (*Children, error) {
	return renderChildren(src, m, time.Time{})
}

func renderChildren(src Sources, m Meta, publishedAt time.Time) (*Children, error) {
	if err := src.check(); err != nil {
		return nil, err
	}
	h, err := header(src, m, "儿童个人信息保护规则", "Children's Personal Information Protection Rules", publishedAt)
	if err != nil {
		return nil, err
	}
	return &Children{
		Header:                  h,
		Rules:                   childRules(),
		Functions:               functionsOf(src, true),
		GuardianRights:          rights(src.Catalog.Operator.Contact),
		RightsNote:              rightsNote(),
		AnswerWithinWorkingDays: AnswerWithinWorkingDays,
		StorageLocation:         src.Catalog.StorageLocation,
	}, nil
}
