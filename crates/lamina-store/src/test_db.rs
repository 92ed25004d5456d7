//! The databases the store's behavioural tests run on: each test gets its own fresh one, a
//! SQLite file in a temporary directory or a new schema on the PostgreSQL server named by
//! `LAMINA_TEST_POSTGRES_URL` (scripts/test starts one with scripts/postgres-test).
//!
//! [`on_both_engines!`] turns `async fn name(db: TestDb)` behaviours into a SQLite test that
//! always runs and a PostgreSQL test that `cargo test` leaves out unless asked
//! (`--include-ignored`, as scripts/test does), and that then fails loudly without a server.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection};

use crate::access_key_store::AccessKeyStore;
use crate::access_keys::secrets_key::SecretsKeySource;
use crate::access_keys::{AccessKeyFile, AccessKeysError};
use crate::event_store::EventStore;
use crate::function_store::FunctionStore;
use crate::log_retention_store::LogRetentionStore;
use crate::metadata::MetadataStore;
use crate::node_store::NodeStore;
use crate::{PgStore, SqliteStore};

/// The traits both engines' stores implement, so one opener serves them all.
pub(crate) trait EveryStore:
    FunctionStore + EventStore + NodeStore + LogRetentionStore
{
}

impl<T: FunctionStore + EventStore + NodeStore + LogRetentionStore> EveryStore for T {}

/// One test's database; [`TestDb::metadata`] opens a store on it, as often as a test wants
/// (several stores on one database stand for several nodes, or a restart).
pub(crate) enum TestDb {
    /// A SQLite file that lives as long as the directory.
    Sqlite(tempfile::TempDir),
    /// A fresh schema, chosen by the options' `search_path`.
    Postgres(Box<PgConnectOptions>),
}

impl TestDb {
    /// A new SQLite database.
    pub(crate) async fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().expect("a temporary directory"))
    }

    /// A new schema on the test server. Panics, failing the test, when the server is not
    /// configured or unreachable: a PostgreSQL test never passes without PostgreSQL.
    pub(crate) async fn postgres() -> Self {
        let url = std::env::var("LAMINA_TEST_POSTGRES_URL").expect(
            "LAMINA_TEST_POSTGRES_URL is not set: run scripts/test, or \
             `export LAMINA_TEST_POSTGRES_URL=$(scripts/postgres-test start)`",
        );
        let options = PgConnectOptions::from_str(&url)
            .unwrap_or_else(|e| panic!("LAMINA_TEST_POSTGRES_URL {url:?}: {e}"));
        let mut conn = PgConnection::connect_with(&options)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {url} is unreachable: {e}"));
        // A UUID is letters and digits only, so the name needs no quoting.
        let schema = format!("test_{}", uuid::Uuid::new_v4().simple());
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .await
            .expect("CREATE SCHEMA");
        Self::Postgres(Box::new(options.options([("search_path", schema)])))
    }

    /// Opens a store on this database (migrating it on first use), as every trait both
    /// engines implement.
    async fn open(&self) -> Box<dyn EveryStore> {
        match self {
            Self::Sqlite(dir) => Box::new(
                SqliteStore::open(
                    &dir.path().join("lamina.db"),
                    &crate::sqlite::tests::scope().account,
                )
                .await
                .expect("open SQLite"),
            ),
            Self::Postgres(options) => Box::new(
                PgStore::connect_with((**options).clone())
                    .await
                    .expect("connect to PostgreSQL"),
            ),
        }
    }

    /// Opens a store on this database, migrating it on first use.
    pub(crate) async fn metadata(&self) -> Box<dyn MetadataStore> {
        self.functions().await
    }

    /// Opens a store on this database, as a [`FunctionStore`].
    pub(crate) async fn functions(&self) -> Box<dyn FunctionStore> {
        self.open().await
    }
}

impl TestDb {
    /// Opens a store on this database, as a [`NodeStore`].
    pub(crate) async fn nodes(&self) -> Box<dyn NodeStore> {
        self.open().await
    }

    /// Opens a store on this database, as a [`LogRetentionStore`].
    pub(crate) async fn log_retention(&self) -> Box<dyn LogRetentionStore> {
        self.open().await
    }

    /// Opens the accounts and access keys of this database (the key file of the SQLite
    /// directory, or the PostgreSQL table), sealed under `secrets_key` (base64 of 32 bytes).
    /// Each call on PostgreSQL opens its own pool, as another node would.
    pub(crate) async fn access_keys(
        &self,
        secrets_key: &str,
    ) -> Result<Box<dyn AccessKeyStore>, AccessKeysError> {
        let source = SecretsKeySource::Env(secrets_key.to_owned());
        Ok(match self {
            Self::Sqlite(dir) => Box::new(AccessKeyFile::with_secrets_key(dir.path(), source)),
            Self::Postgres(options) => Box::new(
                PgStore::connect_with((**options).clone())
                    .await
                    .expect("connect to PostgreSQL")
                    .access_keys_sealed_with(&source)?,
            ),
        })
    }

    /// The connection options of the PostgreSQL schema.
    pub(crate) fn pg_options(&self) -> PgConnectOptions {
        match self {
            Self::Sqlite(_) => panic!("not a PostgreSQL database"),
            Self::Postgres(options) => (**options).clone(),
        }
    }

    /// A plain connection to the PostgreSQL schema, for tests that play a second writer.
    pub(crate) async fn pg_connection(&self) -> PgConnection {
        PgConnection::connect_with(&self.pg_options())
            .await
            .expect("connect to PostgreSQL")
    }

    /// Opens a store on this database, as an [`EventStore`].
    pub(crate) async fn events(&self) -> Box<dyn EventStore> {
        self.open().await
    }

    /// Records a heartbeat of [`test_node`] `n` at `millis`, as that node would.
    pub(crate) async fn beat(&self, n: u64, millis: i64) {
        beat(self.nodes().await.as_ref(), n, millis).await;
    }
}

/// The node id tests call node `n`.
pub(crate) fn test_node(n: u64) -> lamina_types::NodeId {
    lamina_types::NodeId::from_random(n)
}

/// Records a heartbeat of [`test_node`] `n` at `millis` in `store`.
pub(crate) async fn beat(store: &dyn NodeStore, n: u64, millis: i64) {
    store
        .record_heartbeat(&crate::NodeRecord {
            id: test_node(n),
            url: format!("http://127.0.0.1:{}", 9000 + n),
            started_millis: millis,
            heartbeat_millis: millis,
        })
        .await
        .expect("record a heartbeat");
}

/// Generates, for each behaviour `async fn name(db: TestDb)` in scope, `sqlite::name` and
/// `postgres::name` tests.
macro_rules! on_both_engines {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(crate::test_db::TestDb::sqlite().await).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                #[ignore = "needs LAMINA_TEST_POSTGRES_URL (scripts/test sets it)"]
                async fn $name() {
                    super::$name(crate::test_db::TestDb::postgres().await).await;
                }
            )+
        }
    };
}
pub(crate) use on_both_engines;
