//! The metadata database `lamina serve` uses: SQLite in the data directory (the zero-set-up
//! default), or PostgreSQL named by `--database` / `LAMINA_DATABASE_URL`, which several nodes
//! can share.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use lamina_store::{
    EventStore, FunctionStore, LogRetentionStore, MetadataStore, NodeStore, PgStore, SqliteStore,
};
use lamina_types::AccountId;

/// An open metadata database of either engine.
pub(crate) enum Database {
    /// `<data dir>/lamina.db`.
    Sqlite(SqliteStore),
    /// A PostgreSQL server.
    Postgres(PgStore),
}

impl Database {
    /// Opens PostgreSQL when `url` is given, else the data directory's SQLite file. Rows
    /// from before accounts existed (SQLite only) become `legacy_account`'s.
    pub(crate) async fn open(
        url: Option<&str>,
        data_dir: &Path,
        legacy_account: &AccountId,
    ) -> anyhow::Result<Self> {
        let Some(url) = url else {
            let store = SqliteStore::open(&data_dir.join("lamina.db"), legacy_account)
                .await
                .context("opening the metadata database")?;
            return Ok(Self::Sqlite(store));
        };
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            // The URL may hold a password: never echo it.
            bail!("--database must be a postgres:// or postgresql:// URL");
        }
        // sqlx's errors name the host and the failure, not the password.
        let store = PgStore::connect(url)
            .await
            .context("connecting to the PostgreSQL metadata database")?;
        Ok(Self::Postgres(store))
    }

    /// Every runtime a function version names, sorted.
    pub(crate) async fn runtimes_in_use(&self) -> Result<Vec<String>, lamina_store::StoreError> {
        match self {
            Self::Sqlite(store) => store.runtimes_in_use().await,
            Self::Postgres(store) => store.runtimes_in_use().await,
        }
    }

    /// The stores of what the nodes of a cluster share about themselves: the node registry
    /// and the log retention policies (sharing this database's connections).
    pub(crate) fn cluster_stores(&self) -> (Arc<dyn NodeStore>, Arc<dyn LogRetentionStore>) {
        match self {
            Self::Sqlite(store) => {
                let store = Arc::new(store.clone());
                (store.clone(), store)
            }
            Self::Postgres(store) => {
                let store = Arc::new(store.clone());
                (store.clone(), store)
            }
        }
    }

    /// The store behind the traits the server's services take.
    pub(crate) fn into_stores(self) -> Stores {
        match self {
            Self::Sqlite(store) => {
                let store = Arc::new(store);
                Stores {
                    metadata: store.clone(),
                    functions: store.clone(),
                    events: store,
                    postgres: None,
                }
            }
            Self::Postgres(store) => {
                let store = Arc::new(store);
                Stores {
                    metadata: store.clone(),
                    functions: store.clone(),
                    events: store.clone(),
                    postgres: Some(store),
                }
            }
        }
    }
}

/// The open database, as the services take it.
pub(crate) struct Stores {
    pub(crate) metadata: Arc<dyn MetadataStore>,
    pub(crate) functions: Arc<dyn FunctionStore>,
    pub(crate) events: Arc<dyn EventStore>,
    /// The PostgreSQL store itself, for what only a shared database does (the cluster's
    /// concurrency count); `None` on SQLite.
    pub(crate) postgres: Option<Arc<PgStore>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> AccountId {
        AccountId::parse(lamina_cli::DEFAULT_ACCOUNT_ID).expect("the default account parses")
    }

    #[tokio::test]
    async fn without_a_url_the_data_dir_holds_sqlite() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let database = Database::open(None, dir.path(), &account())
            .await
            .expect("SQLite opens");
        assert!(matches!(database, Database::Sqlite(_)));
        assert!(dir.path().join("lamina.db").exists());
    }

    #[tokio::test]
    async fn another_scheme_is_refused_without_echoing_the_url() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = "mysql://admin:hunter2@db.example/lamina";
        let Err(e) = Database::open(Some(url), dir.path(), &account()).await else {
            panic!("a MySQL URL was accepted");
        };
        let message = format!("{e:#}");
        assert!(message.contains("postgres://"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        assert!(!dir.path().join("lamina.db").exists());
    }

    #[tokio::test]
    #[ignore = "needs LAMINA_TEST_POSTGRES_URL (scripts/test sets it)"]
    async fn a_postgres_url_opens_postgres() {
        let url = std::env::var("LAMINA_TEST_POSTGRES_URL")
            .expect("LAMINA_TEST_POSTGRES_URL is not set: run scripts/test");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let database = Database::open(Some(&url), dir.path(), &account())
            .await
            .expect("PostgreSQL opens");
        assert!(matches!(database, Database::Postgres(_)));
        assert!(!dir.path().join("lamina.db").exists());
        let metadata = database.into_stores().metadata;
        assert!(
            !metadata
                .server_secret(b"candidate")
                .await
                .unwrap()
                .is_empty()
        );
    }
}
