-- GridPulse live source, schema 4: the server side of the session cookie (#16, several app servers).
--
-- A row per local sign-in that handed the browser a session cookie (data_layer/auth/tokens.py):
-- the cookie names its sid, and a replica restores the session only while the row exists, is not
-- revoked and was seen within the idle timeout. Sign-out and the idle timeout set revoked_at, so
-- every replica refuses the cookie at once. No personal data: a user name and times.
CREATE TABLE gridpulse.web_sessions (
    sid text PRIMARY KEY,
    user_name text NOT NULL,
    issued_at timestamptz NOT NULL,
    last_seen timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX web_sessions_issued_at ON gridpulse.web_sessions (issued_at);
