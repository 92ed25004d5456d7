//! Which log group each function logs to: its `LoggingConfig.LogGroup` (`/aws/lambda/<name>`
//! by default), for the Logs operations.

use lamina_types::{LambdaError, Scope};

use super::{FunctionService, storage_error};

/// Functions read from the store at once.
const BATCH: u32 = 500;

impl FunctionService {
    /// Each function of `scope`'s account with the log group its `$LATEST` logs to, by name.
    /// Guessed: a published version whose `LoggingConfig` differs keeps logging where
    /// `$LATEST` does not; Lamina lists the function under `$LATEST`'s group only.
    pub async fn log_groups(&self, scope: &Scope) -> Result<Vec<(String, String)>, LambdaError> {
        let mut out: Vec<(String, String)> = Vec::new();
        loop {
            let after = out.last().map(|(name, _)| name.clone());
            let batch = self
                .store
                .latest_versions(scope, after.as_deref(), BATCH)
                .await
                .map_err(storage_error)?;
            let done = batch.len() < BATCH as usize;
            out.extend(
                batch
                    .into_iter()
                    .map(|r| (r.name, r.config.logging.log_group)),
            );
            if done {
                return Ok(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::LoggingInput;
    use super::super::tests::{create_cmd, fixture_with};
    use crate::functions::tests::Ready;

    #[tokio::test]
    async fn each_function_logs_to_its_configured_group() {
        let f = fixture_with(std::sync::Arc::new(Ready)).await;
        f.functions
            .create(&f.scope, create_cmd("plain", vec![]))
            .await
            .unwrap();
        let mut custom = create_cmd("custom", vec![]);
        custom.config.logging = Some(LoggingInput {
            log_group: Some("/shared/app".to_owned()),
            ..Default::default()
        });
        f.functions.create(&f.scope, custom).await.unwrap();
        assert_eq!(
            f.functions.log_groups(&f.scope).await.unwrap(),
            [
                ("custom".to_owned(), "/shared/app".to_owned()),
                ("plain".to_owned(), "/aws/lambda/plain".to_owned()),
            ]
        );
    }
}
