//! The feed that tells the nodes of a cluster which functions another node wrote, so each
//! forgets what it resolved of them: PostgreSQL's `NOTIFY` on one channel, heard by every node
//! through a `LISTEN`ing connection.

use lamina_types::NodeId;
use sqlx::postgres::PgListener;

use super::PgStore;
use crate::metadata::StoreError;

/// The channel of the feed.
const CHANNEL: &str = "lamina_function_writes";

/// One write as the feed carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionWritten {
    /// The node that wrote (which ignores its own notices).
    pub node: NodeId,
    /// The function's account.
    pub account: String,
    /// The function's region.
    pub region: String,
    /// The function; `None` when any function of the account and region may have changed.
    pub function: Option<String>,
}

impl FunctionWritten {
    /// The notice's text: the fields separated by tabs, which none of them can hold.
    fn to_payload(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}",
            self.node,
            self.account,
            self.region,
            self.function.as_deref().unwrap_or("")
        )
    }

    /// A notice's text read back; `None` when it is not one of ours.
    pub fn parse(payload: &str) -> Option<Self> {
        let mut fields = payload.split('\t');
        let written = Self {
            node: NodeId::parse(fields.next()?)?,
            account: fields.next()?.to_owned(),
            region: fields.next()?.to_owned(),
            function: Some(fields.next()?)
                .filter(|f| !f.is_empty())
                .map(str::to_owned),
        };
        fields.next().is_none().then_some(written)
    }
}

impl PgStore {
    /// Tells every listening node of `written`.
    pub async fn notify_function_written(
        &self,
        written: &FunctionWritten,
    ) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(written.to_payload())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A connection listening to the feed.
    pub async fn listen_to_function_writes(&self) -> Result<WriteListener, StoreError> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(WriteListener(listener))
    }
}

/// What a [`WriteListener`] heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A write.
    Written(FunctionWritten),
    /// A notice that is not one of ours.
    Other,
    /// The connection was cut (and is open again): notices sent meanwhile were lost.
    Cut,
}

/// The listening end of the feed; it reconnects by itself when cut.
pub struct WriteListener(PgListener);

impl WriteListener {
    /// Waits for the next notice. An error means reconnecting failed; calling again retries.
    pub async fn next(&mut self) -> Result<Heard, StoreError> {
        Ok(match self.0.try_recv().await? {
            Some(notice) => {
                FunctionWritten::parse(notice.payload()).map_or(Heard::Other, Heard::Written)
            }
            None => Heard::Cut,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_round_trips_and_others_are_refused() {
        for function in [Some("f".to_owned()), None] {
            let written = FunctionWritten {
                node: NodeId::from_random(7),
                account: "123456789012".into(),
                region: "us-east-1".into(),
                function,
            };
            assert_eq!(FunctionWritten::parse(&written.to_payload()), Some(written));
        }
        for junk in [
            "",
            "x\ty\tz\tf",
            "node-0000000000000007\ta\tb",
            "node-0000000000000007\ta\tb\tc\td",
        ] {
            assert_eq!(FunctionWritten::parse(junk), None, "{junk}");
        }
    }

    #[tokio::test]
    #[ignore = "needs LAMINA_TEST_POSTGRES_URL (scripts/test sets it)"]
    async fn a_notice_reaches_every_listening_node() {
        let db = crate::test_db::TestDb::postgres().await;
        let writer = PgStore::connect_with(db.pg_options()).await.unwrap();
        let reader = PgStore::connect_with(db.pg_options()).await.unwrap();
        let mut listener = reader.listen_to_function_writes().await.unwrap();
        let written = FunctionWritten {
            node: NodeId::from_random(1),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            function: Some("f".into()),
        };

        writer.notify_function_written(&written).await.unwrap();

        assert_eq!(listener.next().await.unwrap(), Heard::Written(written));
    }
}
