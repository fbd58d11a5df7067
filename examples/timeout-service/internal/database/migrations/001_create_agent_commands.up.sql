CREATE TABLE agents (
    id          uuid PRIMARY KEY,
    hostname    varchar(255) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agent_commands (
    id            uuid PRIMARY KEY,
    agent_id      uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    command_type  varchar(50) NOT NULL,
    status        varchar(20) NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'sent', 'completed', 'failed', 'timed_out')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz
);
