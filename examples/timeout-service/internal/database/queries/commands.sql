-- name: CreateCommand :exec
INSERT INTO agent_commands (id, agent_id, command_type)
VALUES (@id, @agent_id, @command_type);

-- name: RetryCommand :exec
UPDATE agent_commands SET status = 'pending', sent_at = NULL WHERE id = @id;
