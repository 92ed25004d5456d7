//! Invocations in flight across every node of a cluster, so the concurrency limits hold for
//! the cluster and not for each node: a function's reserved concurrency, its account's
//! unreserved pool, and each version's environment cap.
//!
//! One row per invocation running, inserted by an admission that counts the rows of its limit
//! under an advisory lock (of the function for a reserved function, of the account for the
//! pool), and deleted when the invocation ends. Both are one call of a PL/pgSQL function:
//! one round trip each, committed without waiting for the disk (a count lost in a crash is
//! a count of invocations that crashed too). Rows of nodes whose heartbeat stopped are not
//! counted, so a killed node's invocations stop holding places once it is no longer live.

use lamina_types::NodeId;

use super::PgStore;
use crate::metadata::StoreError;

/// Step 4: the table of invocations in flight and the functions that admit and release them.
pub(super) const SCHEMA_STEP_IN_FLIGHT: &str = r#"
CREATE TABLE invocations_in_flight (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node TEXT NOT NULL,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    function_name TEXT NOT NULL,
    version TEXT NOT NULL,
    reserved BOOLEAN NOT NULL
);
CREATE INDEX invocations_in_flight_by_version
    ON invocations_in_flight (account, region, function_name, version);
CREATE INDEX invocations_in_flight_unreserved
    ON invocations_in_flight (account, region) WHERE NOT reserved;
CREATE INDEX invocations_in_flight_by_node ON invocations_in_flight (node);

CREATE FUNCTION lamina_admit_invocation(
    p_node TEXT, p_account TEXT, p_region TEXT, p_function TEXT, p_version TEXT,
    p_reserved BIGINT, p_pool BIGINT, p_version_cap BIGINT, p_live_since BIGINT
) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    admitted BIGINT;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    IF p_reserved IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(
            'lamina/function/' || p_account || '/' || p_region || '/' || p_function, 0));
        IF (SELECT count(*) FROM invocations_in_flight i
            WHERE i.account = p_account AND i.region = p_region
              AND i.function_name = p_function
              AND (i.node = p_node OR i.node IN
                   (SELECT id FROM nodes WHERE heartbeat_millis >= p_live_since))
           ) >= p_reserved THEN
            RETURN -1;
        END IF;
    ELSE
        PERFORM pg_advisory_xact_lock(hashtextextended(
            'lamina/account/' || p_account || '/' || p_region, 0));
        IF (SELECT count(*) FROM invocations_in_flight i
            WHERE i.account = p_account AND i.region = p_region AND NOT i.reserved
              AND (i.node = p_node OR i.node IN
                   (SELECT id FROM nodes WHERE heartbeat_millis >= p_live_since))
           ) >= p_pool THEN
            RETURN -2;
        END IF;
    END IF;
    -- Under the lock taken above: every admission of this version takes the same one.
    IF (SELECT count(*) FROM invocations_in_flight i
        WHERE i.account = p_account AND i.region = p_region
          AND i.function_name = p_function AND i.version = p_version
          AND (i.node = p_node OR i.node IN
               (SELECT id FROM nodes WHERE heartbeat_millis >= p_live_since))
       ) >= p_version_cap THEN
        RETURN -3;
    END IF;
    INSERT INTO invocations_in_flight (node, account, region, function_name, version, reserved)
        VALUES (p_node, p_account, p_region, p_function, p_version, p_reserved IS NOT NULL)
        RETURNING id INTO admitted;
    RETURN admitted;
END
$$;

CREATE FUNCTION lamina_release_invocation(p_id BIGINT) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    DELETE FROM invocations_in_flight WHERE id = p_id;
END
$$;
"#;

/// An invocation asking for a place, and the limits it runs under.
#[derive(Debug, Clone, Copy)]
pub struct InFlightRequest<'a> {
    /// The node that runs it.
    pub node: &'a NodeId,
    /// The function's account.
    pub account: &'a str,
    /// The function's region.
    pub region: &'a str,
    /// The function's name.
    pub function_name: &'a str,
    /// The version it runs (`$LATEST` or a number).
    pub version: &'a str,
    /// The function's reserved concurrency; `None` when it shares the account's pool.
    pub reserved: Option<u32>,
    /// The account's unreserved pool (used when `reserved` is `None`).
    pub pool: u32,
    /// Most invocations of the version at once in the cluster.
    pub version_cap: u32,
    /// Rows of nodes whose heartbeat is older than this (milliseconds since the epoch) are
    /// not counted.
    pub live_since_millis: i64,
}

/// The answer to an [`InFlightRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InFlightAdmission {
    /// Counted; release it with this id when the invocation ends.
    Admitted(i64),
    /// The function's reserved concurrency is in use.
    ReservedFull,
    /// The account's unreserved pool is in use.
    PoolFull,
    /// The version's environment cap is in use.
    VersionFull,
}

impl PgStore {
    /// Counts an invocation in flight, or says which limit is in use.
    pub async fn admit_in_flight(
        &self,
        request: &InFlightRequest<'_>,
    ) -> Result<InFlightAdmission, StoreError> {
        let answer: i64 = sqlx::query_scalar(
            "SELECT lamina_admit_invocation($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(request.node.as_str())
        .bind(request.account)
        .bind(request.region)
        .bind(request.function_name)
        .bind(request.version)
        .bind(request.reserved.map(i64::from))
        .bind(i64::from(request.pool))
        .bind(i64::from(request.version_cap))
        .bind(request.live_since_millis)
        .fetch_one(&self.pool)
        .await?;
        Ok(match answer {
            -1 => InFlightAdmission::ReservedFull,
            -2 => InFlightAdmission::PoolFull,
            -3 => InFlightAdmission::VersionFull,
            id => InFlightAdmission::Admitted(id),
        })
    }

    /// Stops counting the invocation admitted as `id`.
    pub async fn release_in_flight(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("SELECT lamina_release_invocation($1)")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets every invocation counted for `node`: at its start (what it counted before a
    /// crash ended long ago), and for nodes found dead (their rows no longer count anyway).
    /// Returns how many.
    pub async fn forget_in_flight_of(&self, node: &NodeId) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM invocations_in_flight WHERE node = $1")
            .bind(node.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Forgets the invocations counted for nodes whose heartbeat is older than
    /// `live_since_millis` (or that never registered). Returns how many.
    pub async fn forget_in_flight_of_dead_nodes(
        &self,
        live_since_millis: i64,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM invocations_in_flight WHERE node NOT IN \
             (SELECT id FROM nodes WHERE heartbeat_millis >= $1)",
        )
        .bind(live_since_millis)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests;
