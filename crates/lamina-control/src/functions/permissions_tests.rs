//! Function policies over a real SQLite store: per qualifier, under revisions, within their
//! size limit, and what they let another account invoke.

use lamina_types::{AccountId, Region, Scope};

use super::tests::{create_cmd, fixture};
use super::*;

const ARN: &str = "arn:aws:lambda:us-west-2:123456789012:function:app";

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
