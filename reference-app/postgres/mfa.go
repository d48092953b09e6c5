package postgres

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// SetTOTPSecret implements academy.MFA.
func (db *DB) SetTOTPSecret(ctx context.Context, userID uuid.UUID, secret string) error {
	tag, err := db.userShard(userID).Exec(ctx,
		`UPDATE users SET totp_secret = $2, totp_last_step = 0 WHERE id = $1 AND NOT totp_enabled`, userID, secret)
	if err != nil {
		return dbErr("set totp secret", err)
	}
	if tag.RowsAffected() == 0 {
		return db.mfaMissOrEnabled(ctx, userID)
	}
	return nil
}

// mfaMissOrEnabled tells why an update of a user's MFA state matched no row.
func (db *DB) mfaMissOrEnabled(ctx context.Context, userID uuid.UUID) error {
	if _, err := db.UserByID(ctx, userID); err != nil {
		return err
	}
	return academy.ErrMFAEnabled
}

// EnableTOTP implements academy.MFA.
func (db *DB) EnableTOTP(ctx context.Context, userID uuid.UUID, step int64, recoveryHashes [][]byte) error {
	return pgx.BeginFunc(ctx, db.userShard(userID), func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET totp_enabled = true, totp_last_step = $2
			WHERE id = $1 AND NOT totp_enabled AND totp_secret IS NOT NULL AND totp_last_step < $2`, userID, step)
		if err != nil {
			return dbErr("enable totp", err)
		}
		if tag.RowsAffected() == 0 {
			return academy.ErrMFAConfirmFailed
		}
		if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
			return dbErr("drop recovery codes", err)
		}
		for _, h := range recoveryHashes {
			if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)`, userID, h); err != nil {
				return dbErr("save recovery code", err)
			}
		}
		return nil
	})
}

// UseTOTPStep implements academy.MFA: one conditional UPDATE, so that of
// concurrent logins with one code only one is accepted.
func (db *DB) UseTOTPStep(ctx context.Context, userID uuid.UUID, step int64) (bool, error) {
	tag, err := db.userShard(userID).Exec(ctx,
		`UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_enabled AND totp_last_step < $2`, userID, step)
	if err != nil {
		return false, dbErr("use totp step", err)
	}
	return tag.RowsAffected() == 1, nil
}

// UseRecoveryCode implements academy.MFA.
func (db *DB) UseRecoveryCode(ctx context.Context, userID uuid.UUID, hash []byte) (bool, error) {
	tag, err := db.userShard(userID).Exec(ctx,
		`UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`, userID, hash)
	if err != nil {
		return false, dbErr("use recovery code", err)
	}
	return tag.RowsAffected() == 1, nil
}

// DisableTOTP implements academy.MFA.
func (db *DB) DisableTOTP(ctx context.Context, userID uuid.UUID) error {
	return pgx.BeginFunc(ctx, db.userShard(userID), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET totp_secret = NULL, totp_enabled = false, totp_last_step = 0 WHERE id = $1`, userID); err != nil {
			return dbErr("disable totp", err)
		}
		_, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID)
		return dbErr("drop recovery codes", err)
	})
}
