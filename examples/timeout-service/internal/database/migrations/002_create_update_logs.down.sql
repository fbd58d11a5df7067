DROP TABLE update_logs;
