//! Tags, reserved concurrency and resource policies over a real SQLite store: what each
//! operation stores, refuses and hands the invoker.

use std::collections::BTreeMap;

use lamina_types::{AccountId, ConcurrencyLimit, Region, Scope};

use super::tests::{create_cmd, fixture};
use super::*;

const ARN: &str = "arn:aws:lambda:us-west-2:123456789012:function:app";

fn tags(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

fn grant(sid: &str, principal: &str) -> AddPermission {
    AddPermission {
        function_name: "app".into(),
        qualifier: None,
        statement_id: Some(sid.into()),
        action: Some("lambda:InvokeFunction".into()),
        principal: Some(principal.into()),
        source_arn: None,
        source_account: None,
        principal_org_id: None,
        event_source_token: None,
        function_url_auth_type: None,
        invoked_via_function_url: None,
        revision_id: None,
    }
}

#[tokio::test]
async fn tags_are_merged_removed_and_limited_to_fifty_after_the_change() {
    let f = fixture().await;
    f.functions
        .create(&f.scope, create_cmd("app", Vec::new()))
        .await
        .unwrap();
    let s = &f.scope;
    f.functions
        .tag_resource(s, ARN, tags(&[("a", "1"), ("b", "2")]))
        .await
        .unwrap();
    f.functions
        .tag_resource(s, ARN, tags(&[("b", "3")]))
        .await
        .unwrap();
    assert_eq!(
        f.functions.list_tags(s, ARN).await.unwrap(),
        tags(&[("a", "1"), ("b", "3")]).unwrap()
    );
    f.functions
        .untag_resource(s, ARN, Some(vec!["a".into(), "missing".into()]))
        .await
        .unwrap();
    assert_eq!(
        f.functions.list_tags(s, ARN).await.unwrap(),
        tags(&[("b", "3")]).unwrap()
    );
    assert_eq!(
        f.functions.get(s, "app", None).await.unwrap().tags,
        tags(&[("b", "3")]).unwrap()
    );

    let many: BTreeMap<String, String> =
        (0..50).map(|i| (format!("k{i}"), String::new())).collect();
    let e = f
        .functions
        .tag_resource(s, ARN, Some(many))
        .await
        .unwrap_err();
    assert_eq!(e.message(), validate::TOO_MANY_TAGS);
    let e = f
        .functions
        .tag_resource(s, ARN, tags(&[("aws:x", "")]))
        .await
        .unwrap_err();
    assert_eq!(e.message(), validate::RESERVED_TAG_KEY);

    let e = f
        .functions
        .tag_resource(s, &format!("{ARN}:1"), tags(&[("a", "1")]))
        .await
        .unwrap_err();
    assert_eq!(e.type_name(), "InvalidParameterValueException");
    let e = f.functions.tag_resource(s, ARN, None).await.unwrap_err();
    assert!(
        e.message().contains("Value null at 'tags'"),
        "{}",
        e.message()
    );
    let e = f.functions.untag_resource(s, ARN, None).await.unwrap_err();
    assert!(
        e.message().contains("Value null at 'tagKeys'"),
        "{}",
        e.message()
    );
    let e = f
        .functions
        .list_tags(s, "arn:aws:lambda:us-west-2:123456789012:function:nope")
        .await
        .unwrap_err();
    assert_eq!(
        e.message(),
        "Function not found: arn:aws:lambda:us-west-2:123456789012:function:nope"
    );
    let e = f
        .functions
        .list_tags(s, "arn:aws:lambda:us-west-2:222233334444:function:app")
        .await
        .unwrap_err();
    assert_eq!(e.type_name(), "ResourceNotFoundException");
}

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
async fn policies_per_qualifier_with_revisions_and_cross_account_invoke() {
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
    let e = f.functions.get_policy(s, "app", None).await.unwrap_err();
    assert_eq!(e.message(), "The resource you requested does not exist.");

    let statement = f
        .functions
        .add_permission(s, grant("b", "222233334444"))
        .await
        .unwrap();
    assert_eq!(
        statement,
        format!(
            r#"{{"Sid":"b","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::222233334444:root"}},"Action":"lambda:InvokeFunction","Resource":"{ARN}"}}"#
        )
    );
    let policy = f.functions.get_policy(s, "app", None).await.unwrap();
    assert!(
        policy
            .policy
            .starts_with(r#"{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"b""#)
    );
    let e = f
        .functions
        .add_permission(s, grant("b", "*"))
        .await
        .unwrap_err();
    assert_eq!(
        e.message(),
        "The statement id (b) provided already exists. Please provide a new statement id, or \
         remove the existing statement."
    );
    let mut stale = grant("c", "*");
    stale.revision_id = Some("00000000-0000-0000-0000-000000000000".into());
    assert_eq!(
        f.functions
            .add_permission(s, stale)
            .await
            .unwrap_err()
            .status(),
        412
    );

    // Version 1 has its own, empty, policy.
    assert_eq!(
        f.functions
            .get_policy(s, "app", Some("1"))
            .await
            .unwrap_err()
            .status(),
        404
    );
    let mut on_version = grant("v", "*");
    on_version.qualifier = Some("1".into());
    let statement = f.functions.add_permission(s, on_version).await.unwrap();
    assert!(
        statement.contains(&format!(r#""Resource":"{ARN}:1""#)),
        "{statement}"
    );
    let mut on_missing = grant("v", "*");
    on_missing.qualifier = Some("7".into());
    assert_eq!(
        f.functions
            .add_permission(s, on_missing)
            .await
            .unwrap_err()
            .status(),
        404
    );

    // Account B may invoke the unqualified function, not version 1's... except that version
    // 1 grants everyone; account C is refused the unqualified function.
    let b = Scope::new(
        AccountId::parse("222233334444").unwrap(),
        Region::parse("us-west-2").unwrap(),
    );
    let c = Scope::new(
        AccountId::parse("999988887777").unwrap(),
        Region::parse("us-west-2").unwrap(),
    );
    let resolved = f.functions.resolve(&b, ARN, None).await.unwrap();
    assert_eq!(resolved.owner, *s);
    assert_eq!(resolved.invoked_function_arn, ARN);
    f.functions
        .resolve(&c, &format!("{ARN}:1"), None)
        .await
        .unwrap();
    let e = f.functions.resolve(&c, ARN, None).await.unwrap_err();
    assert_eq!(
        e.message(),
        format!(
            "User: arn:aws:iam::999988887777:root is not authorized to perform: \
             lambda:InvokeFunction on resource: {ARN} because no resource-based policy allows \
             the lambda:InvokeFunction action"
        )
    );
    // Other operations stay the owner's.
    assert_eq!(
        f.functions.get(&b, ARN, None).await.unwrap_err().status(),
        404
    );

    let revision = f
        .functions
        .get_policy(s, "app", None)
        .await
        .unwrap()
        .revision_id;
    let e = f
        .functions
        .remove_permission(
            s,
            "app",
            "b",
            None,
            Some("00000000-0000-0000-0000-000000000000"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.type_name(), "PreconditionFailedException");
    f.functions
        .remove_permission(s, "app", "b", None, Some(&revision))
        .await
        .unwrap();
    let e = f
        .functions
        .remove_permission(s, "app", "b", None, None)
        .await
        .unwrap_err();
    assert_eq!(e.message(), "Statement b is not found in resource policy.");
    assert_eq!(
        f.functions
            .resolve(&b, ARN, None)
            .await
            .unwrap_err()
            .status(),
        403
    );

    // A deleted version takes its policy along.
    f.functions.delete(s, "app", Some("1")).await.unwrap();
    f.functions
        .publish_version(
            s,
            PublishVersion {
                function_name: "app".into(),
                description: Some("changed".into()),
                ..Default::default()
            },
        )
        .await
        .ok();
    let policy = f
        .functions
        .store
        .function_policy(s, "app", "1")
        .await
        .unwrap();
    assert!(policy.statements.is_empty());
}

#[tokio::test]
async fn a_policy_stops_growing_at_its_size_limit() {
    let f = fixture().await;
    let s = &f.scope;
    f.functions
        .create(s, create_cmd("app", Vec::new()))
        .await
        .unwrap();
    let mut n = 0;
    let e = loop {
        match f
            .functions
            .add_permission(s, grant(&format!("statement-{n:0>90}"), "*"))
            .await
        {
            Ok(_) => n += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(e.type_name(), "PolicyLengthExceededException");
    assert!(n > 0);
    let policy = f.functions.get_policy(s, "app", None).await.unwrap();
    assert!(policy.policy.len() <= lamina_types::limits::MAX_FUNCTION_POLICY_BYTES);
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
