package models

import "time"

// Results an agent reports for a command.
const (
	ResultSuccess  = "success"
	ResultFailed   = "failed"
	ResultPartial  = "partial"
	ResultTimedOut = "timed_out"
)

// UpdateLog is one row of update_logs.
type UpdateLog struct {
	ID        int64     `db:"id"`
	CommandID string    `db:"command_id"`
	AgentID   string    `db:"agent_id"`
	Result    string    `db:"result"`
	Message   string    `db:"message"`
	CreatedAt time.Time `db:"created_at"`
}

// Command is one row of agent_commands.
type Command struct {
	ID      string     `db:"id"`
	AgentID string     `db:"agent_id"`
	Status  string     `db:"status"`
	SentAt  *time.Time `db:"sent_at"`
}
