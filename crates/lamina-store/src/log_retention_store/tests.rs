//! [`LogRetentionStore`]'s behaviour on every engine (see `test_db.rs`).

use std::collections::BTreeMap;

use crate::test_db::{TestDb, on_both_engines};

on_both_engines!(policies_are_set_replaced_and_removed_per_account);

async fn policies_are_set_replaced_and_removed_per_account(db: TestDb) {
    let (a, b) = (db.log_retention().await, db.log_retention().await);
    let account = "111122223333";
    assert!(a.retention_policies(account).await.unwrap().is_empty());
    a.put_retention_policy(account, "/aws/lambda/f", 7)
        .await
        .unwrap();
    a.put_retention_policy(account, "/aws/lambda/g", 30)
        .await
        .unwrap();
    a.put_retention_policy("444455556666", "/aws/lambda/f", 1)
        .await
        .unwrap();
    // Another store on the same database (another node) sees them.
    b.put_retention_policy(account, "/aws/lambda/f", 14)
        .await
        .unwrap();
    let expected: BTreeMap<String, u32> =
        [("/aws/lambda/f".into(), 14), ("/aws/lambda/g".into(), 30)].into();
    assert_eq!(a.retention_policies(account).await.unwrap(), expected);
    b.delete_retention_policy(account, "/aws/lambda/g")
        .await
        .unwrap();
    b.delete_retention_policy(account, "/aws/lambda/none")
        .await
        .unwrap();
    let expected: BTreeMap<String, u32> = [("/aws/lambda/f".into(), 14)].into();
    assert_eq!(a.retention_policies(account).await.unwrap(), expected);
    assert_eq!(a.retention_policies("444455556666").await.unwrap().len(), 1);
}
