//! TagResource, UntagResource and ListTags over a real SQLite store.

use std::collections::BTreeMap;

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
