//! The cluster's concurrency count on a real PostgreSQL: several stores on one database
//! stand for several nodes.

use lamina_types::NodeId;

use super::*;
use crate::test_db::{TestDb, beat, test_node as node};

const NOW: i64 = 100_000;
const LIVE_SINCE: i64 = 90_000;

async fn store(db: &TestDb) -> PgStore {
    PgStore::connect_with(db.pg_options())
        .await
        .expect("connect to PostgreSQL")
}

fn request<'a>(
    node: &'a NodeId,
    function_name: &'a str,
    version: &'a str,
    reserved: Option<u32>,
) -> InFlightRequest<'a> {
    InFlightRequest {
        node,
        account: "123456789012",
        region: "us-east-1",
        function_name,
        version,
        reserved,
        pool: 3,
        version_cap: 10,
        live_since_millis: LIVE_SINCE,
    }
}

fn admitted(answer: InFlightAdmission) -> i64 {
    match answer {
        InFlightAdmission::Admitted(id) => id,
        other => panic!("not admitted: {other:?}"),
    }
}

#[tokio::test]
#[ignore = "needs LAMINA_TEST_POSTGRES_URL (scripts/test sets it)"]
async fn reserved_concurrency_holds_across_nodes_until_a_place_is_released() {
    let db = TestDb::postgres().await;
    let (a, b) = (store(&db).await, store(&db).await);
    beat(&a, 1, NOW).await;
    beat(&a, 2, NOW).await;
    let (n1, n2) = (node(1), node(2));

    let first = admitted(
        a.admit_in_flight(&request(&n1, "f", "1", Some(2)))
            .await
            .unwrap(),
    );
    admitted(
        b.admit_in_flight(&request(&n2, "f", "$LATEST", Some(2)))
            .await
            .unwrap(),
    );
    assert_eq!(
        b.admit_in_flight(&request(&n2, "f", "2", Some(2)))
            .await
            .unwrap(),
        InFlightAdmission::ReservedFull
    );
    // Another function has its own count.
    admitted(
        b.admit_in_flight(&request(&n2, "g", "1", Some(2)))
            .await
            .unwrap(),
    );

    a.release_in_flight(first).await.unwrap();
    admitted(
        b.admit_in_flight(&request(&n2, "f", "2", Some(2)))
            .await
            .unwrap(),
    );
}

#[tokio::test]
#[ignore = "needs LAMINA_TEST_POSTGRES_URL (scripts/test sets it)"]
async fn the_unreserved_pool_and_the_version_cap_hold_across_nodes() {
    let db = TestDb::postgres().await;
    let (a, b) = (store(&db).await, store(&db).await);
    beat(&a, 1, NOW).await;
    beat(&a, 2, NOW).await;
    let (n1, n2) = (node(1), node(2));

    admitted(
        a.admit_in_flight(&request(&n1, "f", "1", None))
            .await
            .unwrap(),
    );
    admitted(
        b.admit_in_flight(&request(&n2, "g", "1", None))
            .await
            .unwrap(),
    );
    // Reserved functions take no place in the pool.
    admitted(
        b.admit_in_flight(&request(&n2, "r", "1", Some(5)))
            .await
            .unwrap(),
    );
    admitted(
        b.admit_in_flight(&request(&n2, "h", "1", None))
            .await
            .unwrap(),
    );
    assert_eq!(
        a.admit_in_flight(&request(&n1, "f", "1", None))
            .await
            .unwrap(),
        InFlightAdmission::PoolFull
    );

    let capped = InFlightRequest {
        version_cap: 1,
        ..request(&n1, "r", "1", Some(5))
    };
    assert_eq!(
        a.admit_in_flight(&capped).await.unwrap(),
        InFlightAdmission::VersionFull
    );
    let other_version = InFlightRequest {
        version_cap: 1,
        ..request(&n1, "r", "2", Some(5))
    };
    admitted(a.admit_in_flight(&other_version).await.unwrap());
}

#[tokio::test]
#[ignore = "needs LAMINA_TEST_POSTGRES_URL (scripts/test sets it)"]
async fn a_dead_nodes_places_stop_counting_and_are_swept() {
    let db = TestDb::postgres().await;
    let (a, b) = (store(&db).await, store(&db).await);
    beat(&a, 1, NOW).await;
    beat(&a, 2, NOW).await;
    let (n1, n2) = (node(1), node(2));
    admitted(
        a.admit_in_flight(&request(&n1, "f", "1", Some(1)))
            .await
            .unwrap(),
    );
    assert_eq!(
        b.admit_in_flight(&request(&n2, "f", "1", Some(1)))
            .await
            .unwrap(),
        InFlightAdmission::ReservedFull
    );

    // Node 1 stops beating: its place no longer counts.
    let later = InFlightRequest {
        live_since_millis: NOW + 1,
        ..request(&n2, "f", "1", Some(1))
    };
    beat(&b, 2, NOW + 5).await;
    admitted(b.admit_in_flight(&later).await.unwrap());

    assert_eq!(b.forget_in_flight_of_dead_nodes(NOW + 1).await.unwrap(), 1);
    assert_eq!(b.forget_in_flight_of(&n2).await.unwrap(), 1);
}

#[tokio::test]
#[ignore = "needs LAMINA_TEST_POSTGRES_URL (scripts/test sets it)"]
async fn admissions_racing_on_one_function_never_exceed_its_reservation() {
    let db = TestDb::postgres().await;
    let nodes: Vec<PgStore> = futures_join(&db, 4).await;
    beat(&nodes[0], 1, NOW).await;
    let n1 = node(1);
    let mut racing = tokio::task::JoinSet::new();
    for store in nodes {
        let n1 = n1.clone();
        racing.spawn(async move {
            let mut admitted = 0;
            for _ in 0..10 {
                if let InFlightAdmission::Admitted(_) = store
                    .admit_in_flight(&request(&n1, "f", "1", Some(7)))
                    .await
                    .unwrap()
                {
                    admitted += 1;
                }
            }
            admitted
        });
    }
    let mut total = 0;
    while let Some(admitted) = racing.join_next().await {
        total += admitted.unwrap();
    }
    assert_eq!(total, 7);
}

async fn futures_join(db: &TestDb, n: usize) -> Vec<PgStore> {
    let mut stores = Vec::new();
    for _ in 0..n {
        stores.push(store(db).await);
    }
    stores
}
