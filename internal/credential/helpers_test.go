package credential

import (
	"errors"

	"gigvault/internal/errs"
)

func asErr(err error, target **errs.Error) bool { return errors.As(err, target) }
