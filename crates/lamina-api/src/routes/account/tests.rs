//! GetAccountSettings through the real router.

use crate::routes::test_support::TestApi;

#[tokio::test]
async fn get_account_settings_counts_functions_and_code() {
    let api = TestApi::start().await;
    let empty = api.call("GET", "/2016-08-19/account-settings", None).await;
    let body = empty.ok(200).clone();
    assert_eq!(body["AccountUsage"]["FunctionCount"], 0);
    assert_eq!(body["AccountLimit"]["ConcurrentExecutions"], 1000);
    api.create_function("echo").await;
    let one = api.call("GET", "/2016-08-19/account-settings", None).await;
    let usage = &one.ok(200)["AccountUsage"];
    assert_eq!(usage["FunctionCount"], 1);
    assert!(usage["TotalCodeSize"].as_u64().unwrap() > 0);
    // A method the operation does not have is no operation at all.
    api.call("POST", "/2016-08-19/account-settings", None)
        .await
        .error_message(404, "UnknownOperationException");
}
