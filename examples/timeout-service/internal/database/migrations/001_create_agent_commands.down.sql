DROP TABLE agent_commands;
DROP TABLE agents;
