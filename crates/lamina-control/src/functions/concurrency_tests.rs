//! Reserved concurrency over a real SQLite store: what is stored and refused, and what the
//! invoker's spec carries.

use lamina_types::ConcurrencyLimit;

use super::tests::{create_cmd, fixture};
use super::*;

#[tokio::test]
async fn reservations_keep_a_hundred_unreserved_and_reach_the_spec() {
    let f = fixture().await;
    let s = &f.scope;
    for name in ["app", "other"] {
        f.functions
            .create(s, create_cmd(name, Vec::new()))
            .await
            .unwrap();
    }
    let spec = f.functions.resolve(s, "other", None).await.unwrap().spec;
    assert!(matches!(
        spec.concurrency,
        ConcurrencyLimit::Unreserved { pool: 1000 }
    ));
    assert_eq!(
        f.functions
            .put_concurrency(s, "app", Some(900))
            .await
            .unwrap(),
        900
    );
    assert_eq!(
        f.functions.get_concurrency(s, "app").await.unwrap(),
        Some(900)
    );
    assert_eq!(
        f.functions
            .account_settings(s)
            .await
            .unwrap()
            .unreserved_concurrent_executions,
        100
    );
    // Every function of the account resolves anew with the smaller pool.
    let spec = f.functions.resolve(s, "other", None).await.unwrap().spec;
    assert!(matches!(
        spec.concurrency,
        ConcurrencyLimit::Unreserved { pool: 100 }
    ));
    let spec = f.functions.resolve(s, "app", None).await.unwrap().spec;
    assert!(matches!(spec.concurrency, ConcurrencyLimit::Reserved(900)));

    let e = f
        .functions
        .put_concurrency(s, "other", Some(1))
        .await
        .unwrap_err();
    assert_eq!(
        e.message(),
        "Specified ReservedConcurrentExecutions for function decreases account's \
         UnreservedConcurrentExecution below its minimum value of [100]."
    );
    let e = f
        .functions
        .put_concurrency(s, "app", Some(901))
        .await
        .unwrap_err();
    assert_eq!(e.type_name(), "InvalidParameterValueException");
    let e = f
        .functions
        .put_concurrency(s, "app", Some(-1))
        .await
        .unwrap_err();
    assert_eq!(e.type_name(), "ValidationException");
    let e = f
        .functions
        .put_concurrency(s, "app", None)
        .await
        .unwrap_err();
    assert!(
        e.message()
            .contains("Value null at 'reservedConcurrentExecutions'")
    );
    let e = f
        .functions
        .put_concurrency(s, "nope", Some(1))
        .await
        .unwrap_err();
    assert_eq!(e.type_name(), "ResourceNotFoundException");

    f.functions.delete_concurrency(s, "app").await.unwrap();
    assert_eq!(f.functions.get_concurrency(s, "app").await.unwrap(), None);
    assert_eq!(
        f.functions
            .put_concurrency(s, "other", Some(0))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        f.functions
            .account_settings(s)
            .await
            .unwrap()
            .unreserved_concurrent_executions,
        1000
    );
    // Deleting a reserving function gives its share back.
    f.functions
        .put_concurrency(s, "app", Some(50))
        .await
        .unwrap();
    f.functions.delete(s, "app", None).await.unwrap();
    assert_eq!(
        f.functions
            .account_settings(s)
            .await
            .unwrap()
            .unreserved_concurrent_executions,
        1000
    );
}
#[tokio::test]
async fn provisioned_concurrency_stays_within_the_reservation() {
    let f = fixture().await;
    let s = &f.scope;
    f.functions
        .create(s, create_cmd("app", Vec::new()))
        .await
        .unwrap();
    f.functions
        .publish_version(
            s,
            PublishVersion {
                function_name: "app".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    f.functions
        .put_concurrency(s, "app", Some(3))
        .await
        .unwrap();
    f.functions
        .put_provisioned_concurrency(s, "app", Some("1"), Some(3))
        .await
        .unwrap();
    // Replacing the same qualifier's configuration does not count it twice.
    f.functions
        .put_provisioned_concurrency(s, "app", Some("1"), Some(2))
        .await
        .unwrap();
    let e = f
        .functions
        .put_provisioned_concurrency(s, "app", Some("1"), Some(4))
        .await
        .unwrap_err();
    assert_eq!(
        e.message(),
        "Requested Provisioned Concurrency should not be greater than the \
         reservedConcurrentExecution for function"
    );
    let e = f
        .functions
        .put_concurrency(s, "app", Some(1))
        .await
        .unwrap_err();
    assert_eq!(e.type_name(), "InvalidParameterValueException");
    assert_eq!(
        f.functions
            .put_concurrency(s, "app", Some(2))
            .await
            .unwrap(),
        2
    );
}
