-- GridPulse live source, schema 3: sign-in accounts and the audit log in the database (#15/#16).
--
-- With the live source every app replica reads the same accounts and writes the same audit log,
-- with no shared folder between the hosts (docs/deploy.md, docs/security.md).

-- The local accounts: the fields of DIR/_auth/users.json, one row each. password_hash is an
-- argon2 hash or NULL (an account that signs in through OIDC only); never a password.
CREATE TABLE gridpulse.users (
    username text PRIMARY KEY,
    display_name text NOT NULL,
    role text NOT NULL,
    streets text[] NOT NULL DEFAULT '{}',
    communities text[] NOT NULL DEFAULT '{}',
    rights text[] NOT NULL DEFAULT '{}',
    password_hash text CHECK (password_hash IS NULL OR password_hash LIKE '$argon2%'),
    failures integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- The audit log (data_layer/storage/audit.py's fields): append-only. No personal data: user
-- names, roles, codes, file kinds and filters only.
CREATE TABLE gridpulse.audit_events (
    event_id bigserial PRIMARY KEY,
    ts timestamptz NOT NULL,
    user_name text NOT NULL,
    role text,
    action text NOT NULL,
    target text,
    filter jsonb,
    result text NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_ts ON gridpulse.audit_events (ts);

CREATE FUNCTION gridpulse.audit_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'gridpulse.audit_events is append-only (% refused)', TG_OP;
END $$;

CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
    ON gridpulse.audit_events FOR EACH STATEMENT EXECUTE FUNCTION gridpulse.audit_is_append_only();
