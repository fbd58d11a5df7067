package services

import (
	"context"
	"log"
	"time"

	"example.com/fleet/internal/database"
	"example.com/fleet/internal/models"
)

// TimeoutService marks commands that never completed as timed out.
type TimeoutService struct {
	logs *database.UpdateLogRepository
}

func (s *TimeoutService) Run(ctx context.Context, stale []models.Command) {
	for _, cmd := range stale {
		if err := s.logs.MarkTimedOut(ctx, cmd.ID); err != nil {
			log.Printf("failed to mark command %s timed out: %v", cmd.ID, err)
			continue
		}
		entry := &models.UpdateLog{
			CommandID: cmd.ID,
			AgentID:   cmd.AgentID,
			Result:    "timed_out",
			Message:   "command timed out after " + (2 * time.Hour).String(),
		}
		if err := s.logs.CreateUpdateLog(ctx, entry); err != nil {
			log.Printf("Warning: failed to create timeout log entry: %v", err)
		}
	}
}

// RecordSuccess logs a completed command.
func (s *TimeoutService) RecordSuccess(ctx context.Context, cmd models.Command) error {
	return s.logs.CreateUpdateLog(ctx, &models.UpdateLog{
		CommandID: cmd.ID,
		AgentID:   cmd.AgentID,
		Result:    models.ResultSuccess,
	})
}
