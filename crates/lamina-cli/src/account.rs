//! `lamina account create|list` and `lamina account keys create|list|revoke`: the accounts
//! and access keys of a server on this machine, managed in its data directory's key file
//! (secrets encrypted under the data dir's `secrets.key` or `LAMINA_SECRETS_KEY`, so only the
//! server's user can use them); the running server sees each change at once. With
//! `--database postgres://...` they manage instead the keys every node of a cluster shares
//! in that database (sealed under `LAMINA_SECRETS_KEY`, the nodes' own), which every node
//! sees within a second (see the server's `shared_key_cache`). Also where the remote commands
//! find the root key when the environment and the profile files give none.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use aws_sdk_lambda::config::Credentials;
use lamina_store::access_keys::secrets_key::SECRETS_KEY_ENV;
use lamina_store::{AccessKeyFile, AccessKeyRecord, AccessKeyStore, AccessKeysError, PgStore};
use lamina_types::AccountId;
use lamina_types::timestamp::{format_millis, now_millis};
use serde_json::json;

use crate::global::{GlobalArgs, OutputFormat};
use crate::output::{Table, print_json, print_text};

/// The data directory when neither `--data-dir` nor `LAMINA_DATA_DIR` names one (relative to
/// the working directory).
pub const DEFAULT_DATA_DIR: &str = "./.lamina";

/// The account of every key until Lamina has several accounts.
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";

/// `lamina account ...`.
#[derive(clap::Subcommand, Debug)]
pub enum AccountCommand {
    /// Create an account: a new random 12-digit id and its root key pair, whose secret is
    /// shown only this once.
    Create(DataDirArgs),
    /// List the accounts that have keys, with how many each has.
    List(DataDirArgs),
    /// Create, list and revoke the access key pairs of an account.
    Keys {
        /// What to do with them.
        #[command(subcommand)]
        command: KeysCommand,
    },
}

/// `lamina account keys ...`.
#[derive(clap::Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a key pair and print it; its secret is shown only this once.
    Create(KeyFileArgs),
    /// List the key pairs (without their secrets).
    List(KeyFileArgs),
    /// Revoke a key pair: the server refuses requests signed with it from now on (every node
    /// of a cluster, with `--database`, within about a second). Any key
    /// may be revoked, an account's root key too (as on AWS), except the root key the server
    /// manages for its own account, which it would re-create at its next start.
    Revoke {
        /// The access key id to revoke.
        access_key_id: String,
        /// Which server's keys.
        #[command(flatten)]
        file: KeyFileArgs,
    },
}

/// Which server.
#[derive(clap::Args, Debug)]
pub struct DataDirArgs {
    /// The data directory of the server.
    #[arg(long, env = "LAMINA_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// The PostgreSQL database of a cluster (`postgres://user:password@host:port/database`):
    /// manage the keys its nodes share there instead of a data directory's. Needs the nodes'
    /// LAMINA_SECRETS_KEY.
    #[arg(long, env = "LAMINA_DATABASE_URL", hide_env_values = true)]
    database: Option<String>,
}

/// Which server's keys, of which account.
#[derive(clap::Args, Debug)]
pub struct KeyFileArgs {
    #[command(flatten)]
    server: DataDirArgs,
    /// The account of the keys (default: the server's default account).
    #[arg(long, default_value = DEFAULT_ACCOUNT_ID)]
    account_id: String,
}

impl DataDirArgs {
    /// The keys of the database when `--database` names one, else of the data directory.
    async fn store(&self) -> anyhow::Result<Box<dyn AccessKeyStore>> {
        let Some(url) = &self.database else {
            if !self.data_dir.is_dir() {
                bail!(
                    "no data directory at {} (give the server's with --data-dir or \
                     LAMINA_DATA_DIR, or a cluster's database with --database)",
                    self.data_dir.display()
                );
            }
            return Ok(Box::new(AccessKeyFile::in_data_dir(&self.data_dir)));
        };
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            // The URL may hold a password: never echo it.
            bail!("--database must be a postgres:// or postgresql:// URL");
        }
        // Checked before connecting, so a missing key is the error whatever the database.
        let secrets_key_set = std::env::var(SECRETS_KEY_ENV).is_ok_and(|v| !v.trim().is_empty());
        if !secrets_key_set {
            return Err(AccessKeysError::SharedSecretsKeyRequired.into());
        }
        // sqlx's errors name the host and the failure, not the password.
        let database = PgStore::connect(url)
            .await
            .context("connecting to the PostgreSQL database")?;
        Ok(Box::new(database.access_keys()?))
    }
}

impl KeyFileArgs {
    async fn store(&self) -> anyhow::Result<Box<dyn AccessKeyStore>> {
        self.server.store().await
    }

    fn account(&self) -> anyhow::Result<AccountId> {
        AccountId::parse(&self.account_id)
            .with_context(|| format!("--account-id must be 12 digits, got {:?}", self.account_id))
    }
}

/// Runs `lamina account ...`.
pub fn run(global: &GlobalArgs, command: &AccountCommand) -> anyhow::Result<ExitCode> {
    let json = global.output == OutputFormat::Json;
    crate::global::block_on(async {
        match command {
            AccountCommand::Create(args) => create_account(args, json).await,
            AccountCommand::List(args) => list_accounts(args, json).await,
            AccountCommand::Keys { command } => run_keys(command, json).await,
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn create_account(args: &DataDirArgs, json: bool) -> anyhow::Result<()> {
    let root = args
        .store()
        .await?
        .create_account(&[DEFAULT_ACCOUNT_ID], &format_millis(now_millis()))
        .await?;
    if json {
        print_json(&json!({
            "AccountId": root.account_id,
            "AccessKeyId": root.access_key_id,
            "SecretAccessKey": root.secret_access_key,
            "CreatedDate": root.created,
        }))
    } else {
        print_text(&format!(
            "created account {} with its root access key {}; its secret is shown only \
             now:\n\n    export AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}\n",
            root.account_id, root.access_key_id, root.access_key_id, root.secret_access_key
        ))
    }
}

async fn list_accounts(args: &DataDirArgs, json: bool) -> anyhow::Result<()> {
    let mut accounts: BTreeMap<String, usize> = BTreeMap::new();
    for key in args.store().await?.read().await? {
        *accounts.entry(key.account_id).or_default() += 1;
    }
    if json {
        let listed: Vec<_> = accounts
            .iter()
            .map(|(id, keys)| json!({ "AccountId": id, "AccessKeyCount": keys }))
            .collect();
        return print_json(&json!({ "Accounts": listed }));
    }
    let mut table = Table::new(&["ACCOUNT", "KEYS"]);
    for (id, keys) in accounts {
        table.row(vec![id, keys.to_string()]);
    }
    table.print()
}

async fn run_keys(command: &KeysCommand, json: bool) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create(args) => {
            let account = args.account()?;
            let key = args
                .store()
                .await?
                .create(account.as_str(), false, &format_millis(now_millis()))
                .await?;
            if json {
                print_json(&json!({
                    "AccessKeyId": key.access_key_id,
                    "SecretAccessKey": key.secret_access_key,
                    "AccountId": key.account_id,
                    "CreatedDate": key.created,
                }))?;
            } else {
                print_text(&format!(
                    "created access key {} of account {}; its secret is shown only now:\n\n    \
                     export AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}\n",
                    key.access_key_id, key.account_id, key.access_key_id, key.secret_access_key
                ))?;
            }
        }
        KeysCommand::List(args) => {
            let account = args.account()?;
            let keys: Vec<AccessKeyRecord> = args
                .store()
                .await?
                .read()
                .await?
                .into_iter()
                .filter(|k| k.account_id == account.as_str())
                .collect();
            if json {
                let listed: Vec<_> = keys
                    .iter()
                    .map(|k| {
                        json!({
                            "AccessKeyId": k.access_key_id,
                            "AccountId": k.account_id,
                            "CreatedDate": k.created,
                            "Root": k.root,
                        })
                    })
                    .collect();
                print_json(&json!({ "AccessKeys": listed }))?;
            } else {
                let mut table = Table::new(&["ACCESS KEY ID", "ACCOUNT", "CREATED", "ROOT"]);
                for k in &keys {
                    let root = if k.root { "yes" } else { "" };
                    table.row(vec![
                        k.access_key_id.clone(),
                        k.account_id.clone(),
                        k.created.clone(),
                        root.to_owned(),
                    ]);
                }
                table.print()?;
            }
        }
        KeysCommand::Revoke {
            access_key_id,
            file,
        } => {
            let store = file.store().await?;
            let Some(key) = store.lookup(access_key_id).await? else {
                bail!("no access key {access_key_id:?}");
            };
            if key.server_managed {
                bail!(
                    "{access_key_id} is the root key the server keeps for account {}: it \
                     cannot be revoked, as the server would re-create it at its next start \
                     (start the server with LAMINA_ROOT_ACCESS_KEY_ID and \
                     LAMINA_ROOT_SECRET_ACCESS_KEY to replace it)",
                    key.account_id
                );
            }
            store.revoke(access_key_id).await?;
            if json {
                print_json(&json!({ "AccessKeyId": access_key_id, "Revoked": true }))?;
            } else {
                print_text(&format!("revoked access key {access_key_id}\n"))?;
            }
        }
    }
    Ok(())
}

/// The root key of the server whose data directory is `LAMINA_DATA_DIR` (else
/// [`DEFAULT_DATA_DIR`]), when this user can read it.
pub(crate) fn local_root_credentials() -> Option<Credentials> {
    let dir = std::env::var_os("LAMINA_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    root_credentials_in(&dir)
}

fn root_credentials_in(data_dir: &Path) -> Option<Credentials> {
    let file = AccessKeyFile::in_data_dir(data_dir);
    let root = file.root_of(DEFAULT_ACCOUNT_ID).ok().flatten()?;
    Some(Credentials::new(
        root.access_key_id,
        root.secret_access_key,
        None,
        None,
        "lamina-data-dir",
    ))
}

#[cfg(test)]
mod tests {
    use aws_sdk_lambda::config::ProvideCredentials as _;

    use super::*;

    #[tokio::test]
    async fn a_database_of_another_engine_is_refused_without_echoing_its_url() {
        let args = DataDirArgs {
            data_dir: PathBuf::from("/nonexistent"),
            database: Some("mysql://admin:hunter2@db.example/lamina".into()),
        };
        let Err(e) = args.store().await else {
            panic!("a MySQL URL was accepted");
        };
        let message = format!("{e:#}");
        assert!(message.contains("postgres://"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[tokio::test]
    async fn the_root_key_of_a_data_dir_is_found() {
        let dir = tempfile::tempdir().unwrap();
        assert!(root_credentials_in(dir.path()).is_none());
        let file = AccessKeyFile::in_data_dir(dir.path());
        file.create(DEFAULT_ACCOUNT_ID, false, "t").unwrap();
        assert!(root_credentials_in(dir.path()).is_none());
        let root = file.create(DEFAULT_ACCOUNT_ID, true, "t").unwrap();
        let found = root_credentials_in(dir.path())
            .unwrap()
            .provide_credentials()
            .await
            .unwrap();
        assert_eq!(found.access_key_id(), root.access_key_id);
        assert_eq!(found.secret_access_key(), root.secret_access_key);
    }
}
