-- Audit trail of what each command did on the agent.
CREATE TABLE update_logs (
    id          bigserial PRIMARY KEY,
    command_id  uuid NOT NULL REFERENCES agent_commands (id),
    agent_id    uuid NOT NULL REFERENCES agents (id),
    result      varchar(20) NOT NULL CHECK (result IN ('success', 'failed', 'partial')),
    message     text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX update_logs_agent_id_idx ON update_logs (agent_id);
