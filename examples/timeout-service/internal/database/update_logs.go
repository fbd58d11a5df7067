package database

import (
	"context"

	"github.com/jmoiron/sqlx"

	"example.com/fleet/internal/models"
)

type UpdateLogRepository struct {
	db *sqlx.DB
}

func NewUpdateLogRepository(db *sqlx.DB) *UpdateLogRepository {
	return &UpdateLogRepository{db: db}
}

// CreateUpdateLog records what a command did.
func (r *UpdateLogRepository) CreateUpdateLog(ctx context.Context, log *models.UpdateLog) error {
	query := `
		INSERT INTO update_logs (command_id, agent_id, result, message)
		VALUES (:command_id, :agent_id, :result, :message)`
	_, err := r.db.NamedExecContext(ctx, query, log)
	return err
}

// MarkTimedOut moves a command to timed_out.
func (r *UpdateLogRepository) MarkTimedOut(ctx context.Context, id string) error {
	_, err := r.db.ExecContext(ctx, `UPDATE agent_commands SET status = $1 WHERE id = $2`, models.ResultTimedOut, id)
	return err
}
