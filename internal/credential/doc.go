// Package credential holds the credential primitives for staff log-in
// (ACC-9: staff authenticate with a password and a TOTP code; weak and common
// passwords are refused):
//
//   - passwords are hashed with argon2id (RFC 9106) into PHC strings
//     (HashPassword, VerifyPassword) and screened before use (CheckStrength);
//   - the second factor is a time-based one-time password (RFC 6238) shown
//     to the new staff member as an otpauth:// URI and a terminal QR code
//     (NewTOTP, WriteQR) and checked with replay protection (VerifyTOTP).
//
// Nothing here logs, and no error built here ever contains a password, a
// password hash, a TOTP code or a TOTP secret: errors are *errs.Error values
// whose messages are fixed strings, and whose internal causes name only what
// was wrong (for example "bad salt encoding"), never the bytes involved.
//
// The package is stateless. Callers store the PHC string and the TOTP secret
// (the secret is personal information of the staff member and a credential;
// it belongs in the vault, never in a log) together with the last accepted
// TOTP step, and they rate-limit attempts (ACC-10): a 6-digit code has only
// 10^6 values, so the code check alone is not a defence against guessing.
package credential
