//! PostgreSQL's schema, version 1: the tables SQLite reached after its eleventh migration,
//! written once cleanly. Later changes are new numbered steps in `migrate.rs`, never edits here.
//!
//! Differences from SQLite, each on purpose:
//! - Names that lists are ordered and paged by are `COLLATE "C"`: byte order, as SQLite
//!   compares, whatever locale the cluster was created with, so markers page the same way.
//! - JSON values the store reads and writes whole (configurations, tags, policies, states)
//!   are TEXT, as in SQLite: the Rust side owns their shape. The few queries that look inside
//!   cast to `jsonb` there.
//! - Integers are BIGINT (sqlx decodes a column only into the Rust type of its width).
//! - SQLite's `AFTER DELETE` triggers that drop a deleted version's or alias's settings are
//!   PL/pgSQL trigger functions here.

/// Creates every table of schema version 1.
pub(super) const SCHEMA_V1: &str = r#"
CREATE TABLE layers (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    last_version BIGINT NOT NULL,
    PRIMARY KEY (account, region, name)
);
CREATE TABLE layer_versions (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    description TEXT NOT NULL,
    created_millis BIGINT NOT NULL,
    compatible_runtimes TEXT,
    compatible_architectures TEXT,
    license_info TEXT,
    code_sha256 TEXT NOT NULL,
    code_size BIGINT NOT NULL,
    unzipped_size BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    policy_revision TEXT NOT NULL DEFAULT '',
    policy_statements TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (account, region, name, version)
);
CREATE INDEX layer_versions_by_digest ON layer_versions (code_sha256);
CREATE TABLE server_settings (
    key TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE functions (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    last_version BIGINT NOT NULL DEFAULT 0,
    tags TEXT NOT NULL DEFAULT '{}',
    reserved_concurrency BIGINT,
    recursive_loop TEXT,
    PRIMARY KEY (account, region, name)
);
CREATE TABLE function_versions (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    revision_id TEXT NOT NULL,
    last_modified_millis BIGINT NOT NULL,
    code_sha256 TEXT NOT NULL,
    code_size BIGINT NOT NULL,
    unzipped_size BIGINT NOT NULL,
    content_hash TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT,
    previous TEXT,
    update_runtime_on TEXT,
    runtime_version_arn TEXT,
    PRIMARY KEY (account, region, name, version),
    FOREIGN KEY (account, region, name) REFERENCES functions (account, region, name)
        ON DELETE CASCADE
);
CREATE INDEX function_versions_by_digest ON function_versions (code_sha256);
CREATE TABLE function_aliases (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    function_name TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    function_version TEXT NOT NULL,
    description TEXT NOT NULL,
    routing TEXT,
    revision_id TEXT NOT NULL,
    PRIMARY KEY (account, region, function_name, name),
    FOREIGN KEY (account, region, function_name) REFERENCES functions (account, region, name)
        ON DELETE CASCADE
);

CREATE TABLE async_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id TEXT NOT NULL,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    function_name TEXT NOT NULL,
    qualifier TEXT,
    invoked_function_arn TEXT NOT NULL,
    payload BYTEA NOT NULL,
    client_context TEXT,
    enqueued_millis BIGINT NOT NULL,
    function_error_attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_millis BIGINT NOT NULL
);

CREATE TABLE provisioned_concurrency (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    function_name TEXT COLLATE "C" NOT NULL,
    qualifier TEXT COLLATE "C" NOT NULL,
    requested BIGINT NOT NULL,
    last_modified_millis BIGINT NOT NULL,
    PRIMARY KEY (account, region, function_name, qualifier),
    FOREIGN KEY (account, region, function_name) REFERENCES functions (account, region, name)
        ON DELETE CASCADE
);
CREATE TABLE function_policies (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    function_name TEXT COLLATE "C" NOT NULL,
    qualifier TEXT COLLATE "C" NOT NULL,
    revision_id TEXT NOT NULL,
    statements TEXT NOT NULL,
    PRIMARY KEY (account, region, function_name, qualifier),
    FOREIGN KEY (account, region, function_name) REFERENCES functions (account, region, name)
        ON DELETE CASCADE
);
CREATE TABLE function_urls (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    function_name TEXT COLLATE "C" NOT NULL,
    qualifier TEXT COLLATE "C" NOT NULL,
    url_id TEXT NOT NULL UNIQUE,
    auth_type TEXT NOT NULL,
    invoke_mode TEXT NOT NULL,
    cors TEXT,
    created_millis BIGINT NOT NULL,
    last_modified_millis BIGINT NOT NULL,
    PRIMARY KEY (account, region, function_name, qualifier),
    FOREIGN KEY (account, region, function_name) REFERENCES functions (account, region, name)
        ON DELETE CASCADE
);
CREATE TABLE event_invoke_configs (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    function_name TEXT COLLATE "C" NOT NULL,
    qualifier TEXT COLLATE "C" NOT NULL,
    maximum_retry_attempts BIGINT,
    maximum_event_age_secs BIGINT,
    on_success TEXT,
    on_failure TEXT,
    last_modified_millis BIGINT NOT NULL,
    PRIMARY KEY (account, region, function_name, qualifier),
    FOREIGN KEY (account, region, function_name) REFERENCES functions (account, region, name)
        ON DELETE CASCADE
);

-- A deleted published version takes its per-qualifier settings with it (SQLite's
-- *_of_version triggers); the function's own deletion cascades through the foreign keys.
CREATE FUNCTION drop_settings_of_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM provisioned_concurrency WHERE account = OLD.account AND region = OLD.region
        AND function_name = OLD.name AND qualifier = OLD.version::text;
    DELETE FROM function_policies WHERE account = OLD.account AND region = OLD.region
        AND function_name = OLD.name AND qualifier = OLD.version::text;
    DELETE FROM event_invoke_configs WHERE account = OLD.account AND region = OLD.region
        AND function_name = OLD.name AND qualifier = OLD.version::text;
    RETURN OLD;
END;
$$;
CREATE TRIGGER settings_of_version AFTER DELETE ON function_versions
    FOR EACH ROW EXECUTE FUNCTION drop_settings_of_version();

-- A deleted alias takes its settings and its URL with it (SQLite's *_of_alias triggers).
CREATE FUNCTION drop_settings_of_alias() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM provisioned_concurrency WHERE account = OLD.account AND region = OLD.region
        AND function_name = OLD.function_name AND qualifier = OLD.name;
    DELETE FROM function_policies WHERE account = OLD.account AND region = OLD.region
        AND function_name = OLD.function_name AND qualifier = OLD.name;
    DELETE FROM function_urls WHERE account = OLD.account AND region = OLD.region
        AND function_name = OLD.function_name AND qualifier = OLD.name;
    DELETE FROM event_invoke_configs WHERE account = OLD.account AND region = OLD.region
        AND function_name = OLD.function_name AND qualifier = OLD.name;
    RETURN OLD;
END;
$$;
CREATE TRIGGER settings_of_alias AFTER DELETE ON function_aliases
    FOR EACH ROW EXECUTE FUNCTION drop_settings_of_alias();
"#;
