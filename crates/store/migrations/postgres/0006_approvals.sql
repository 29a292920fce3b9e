-- Accidental-delete protection: the run whose deletes wait for an administrator's approval.
ALTER TABLE provider_state ADD COLUMN approval_run uuid;
