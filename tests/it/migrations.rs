//! Migration 0008 on a database that holds data: a database built up to 0007 with orders,
//! their payments, transitions, gateway steps and sessions is opened the normal way, which
//! applies the rest. SQLite's 0008 rebuilds `orders` (with foreign keys off, which it must turn
//! back on); PostgreSQL's alters `orders` and `sessions` in place. Every row must come through
//! unchanged, and the keys and constraints must still hold.

use crate::common;

use sqlx::AnyPool;
use sqlx::migrate::Migrator;
use tollbooth_core::money::Money;
use tollbooth_core::payments::order::{Binding, OrderId, Purchase};
use tollbooth_core::payments::payment::State;
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::store::{NewDelivery, PaymentStore, SessionStore};

use common::Db;

on_both_backends!(
    migration_0008_keeps_every_order_payment_and_session_and_their_keys,
    migration_0028_queues_exactly_the_deliveries_not_applied_yet,
);

/// The tables 0008 and later migrations rebuild or alter (SQLite's 0016 rebuilds
/// `connections`), and those that refer to them, with their columns as of 0007 and the column
/// that orders their rows.
const TABLES: &[(&str, &str, &[&str])] = &[
    (
        "orders",
        "id",
        &[
            "id",
            "kind",
            "session",
            "payer",
            "amount",
            "currency",
            "action",
            "plan_minutes",
            "plan_computers",
            "plan_phones",
            "person_minute",
            "teleconference_minute",
            "change_url",
            "created_at",
        ],
    ),
    (
        "payments",
        "id",
        &[
            "id",
            "order_id",
            "seq",
            "gateway",
            "action",
            "state",
            "amount",
            "captured",
            "refunded",
            "currency",
            "reference",
            "capture_ref",
            "checkout_ref",
            "checkout_token",
            "version",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "payment_transitions",
        "id",
        &["id", "payment_id", "from_state", "to_state", "event", "reference", "amount", "at"],
    ),
    (
        "gateway_steps",
        "idempotency_key",
        &[
            "order_id",
            "payment_id",
            "step",
            "idempotency_key",
            "state",
            "detail",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "sessions",
        "meeting_id",
        &[
            "platform",
            "meeting_id",
            "host_email",
            "started_at",
            "ended_at",
            "ended_received_at",
            "blocked",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "connections",
        "participant",
        &[
            "platform",
            "meeting_id",
            "participant",
            "device",
            "joined_at",
            "left_at",
            "computer",
            "telephone_audio",
        ],
    ),
];

const SESSION_ORDER: &str = "ord_0123456789abcdef01234567";
const FEE_ORDER: &str = "ord_89abcdef0123456789abcdef";
const QUOTE_ORDER: &str = "ord_fedcba9876543210fedcba98";

/// What a site running 0007 holds: a host's paid and captured session order (after a declined
/// first attempt), an attendee's fee taken and partly refunded, an abandoned quote, and the
/// session the first paid for.
const ROWS: &[&str] = &[
    "INSERT INTO orders VALUES ('ord_0123456789abcdef01234567', 'session', 'webex/560d7b78',
        'host@example.com', '93.15', 'USD', 'authorise', 60, 10, 3, '0.12', '0.05',
        'https://discord.com/channels/1/2/3', 1764064800000)",
    "INSERT INTO orders VALUES ('ord_89abcdef0123456789abcdef', 'registration', 'zoom/abc',
        'attendee@example.com', '25.00', 'USD', 'sale', NULL, NULL, NULL, NULL, NULL, NULL,
        1764064860000)",
    "INSERT INTO orders VALUES ('ord_fedcba9876543210fedcba98', 'session',
        'discord-quote/9001', 'Other@Example.com', '18.40', 'USD', 'authorise', 20, 5, 2,
        '0.12', '0.05', NULL, 1764064920000)",
    "INSERT INTO payments VALUES ('ord_0123456789abcdef01234567-p1',
        'ord_0123456789abcdef01234567', 1, 'payflow', 'authorise', 'failed', '93.15', '0.00',
        '0.00', 'USD', NULL, NULL, 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4', 'Tk+32a1b2c3d4==', 1,
        1764064801000, 1764064802000)",
    "INSERT INTO payments VALUES ('ord_0123456789abcdef01234567-p2',
        'ord_0123456789abcdef01234567', 2, 'payflow', 'authorise', 'captured', '93.15', '7.20',
        '0.00', 'USD', 'EMU000000002', 'EMU000000003', 'f6e5d4c3b2a1f6e5d4c3b2a1f6e5d4c3',
        'Tk+32f6e5d4c3==', 2, 1764064803000, 1764068400000)",
    "INSERT INTO payments VALUES ('ord_89abcdef0123456789abcdef-p1',
        'ord_89abcdef0123456789abcdef', 1, 'stripe', 'sale', 'sale', '25.00', '25.00', '10.00',
        'USD', 'pi_3Nabc', NULL, 'cs_test_a1', NULL, 2, 1764064861000, 1764064999000)",
    "INSERT INTO payments VALUES ('ord_fedcba9876543210fedcba98-p1',
        'ord_fedcba9876543210fedcba98', 1, 'sandbox', 'authorise', 'expired', '18.40', '0.00',
        '0.00', 'USD', NULL, NULL, 'sbx_1', NULL, 1, 1764064921000, 1764066721000)",
    "INSERT INTO payment_transitions (payment_id, from_state, to_state, event, reference,
        amount, at) VALUES ('ord_0123456789abcdef01234567-p1', 'created', 'failed', 'declined',
        NULL, NULL, 1764064802000)",
    "INSERT INTO payment_transitions (payment_id, from_state, to_state, event, reference,
        amount, at) VALUES ('ord_0123456789abcdef01234567-p2', 'created', 'authorised',
        'authorised', 'EMU000000002', '93.15', 1764064804000)",
    "INSERT INTO payment_transitions (payment_id, from_state, to_state, event, reference,
        amount, at) VALUES ('ord_0123456789abcdef01234567-p2', 'authorised', 'captured',
        'captured', 'EMU000000003', '7.20', 1764068400000)",
    "INSERT INTO payment_transitions (payment_id, from_state, to_state, event, reference,
        amount, at) VALUES ('ord_89abcdef0123456789abcdef-p1', 'sale', 'sale', 'refunded',
        're_1', '10.00', 1764064999000)",
    "INSERT INTO gateway_steps VALUES ('ord_0123456789abcdef01234567',
        'ord_0123456789abcdef01234567-p2', 'checkout', '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
        'done', 'f6e5d4c3b2a1f6e5d4c3b2a1f6e5d4c3', 1764064803000, 1764064803500)",
    "INSERT INTO gateway_steps VALUES ('ord_0123456789abcdef01234567',
        'ord_0123456789abcdef01234567-p2', 'capture', '00112233445566778899aabbccddeeff',
        'done', 'EMU000000003', 1764068399000, 1764068400000)",
    "INSERT INTO gateway_steps VALUES ('ord_89abcdef0123456789abcdef',
        'ord_89abcdef0123456789abcdef-p1', 'refund-1', 'ffeeddccbbaa99887766554433221100',
        'done', 're_1', 1764064990000, 1764064999000)",
    "INSERT INTO sessions VALUES ('webex', '560d7b78_I_1', 'host@example.com', 1764064800000,
        1764066600000, 1764066601000, FALSE, 1764064800500, 1764066601000)",
    "INSERT INTO connections VALUES ('webex', '560d7b78_I_1', 'p-1', 'd-1', 1764064810000,
        1764066000000, TRUE, FALSE)",
    "INSERT INTO connections VALUES ('webex', '560d7b78_I_1', 'p-2', 'd-2', 1764064900000,
        1764066500000, FALSE, TRUE)",
];

async fn pool(db: &Db) -> AnyPool {
    sqlx::any::install_default_drivers();
    // An SQLite file is created by the first connection.
    let url = match db.backend {
        "sqlite" => format!("{}?mode=rwc", db.url),
        _ => db.url.clone(),
    };
    AnyPool::connect(&url).await.expect("connect")
}

/// Every row of every table in `TABLES`, each as one line of its columns as text.
async fn snapshot(pool: &AnyPool) -> Vec<String> {
    let mut lines = Vec::new();
    for (table, order_by, columns) in TABLES {
        let fields: Vec<String> =
            columns.iter().map(|c| format!("COALESCE(CAST({c} AS TEXT), 'NULL')")).collect();
        let query = format!(
            "SELECT {} AS line FROM {table} ORDER BY {order_by}",
            fields.join(" || '|' || ")
        );
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(query))
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        lines.extend(rows.into_iter().map(|row| format!("{table}: {row}")));
    }
    lines
}

async fn migration_0008_keeps_every_order_payment_and_session_and_their_keys(db: Db) {
    let dir = format!("{}/migrations/{}", env!("CARGO_MANIFEST_DIR"), db.backend);
    let migrator = Migrator::new(std::path::Path::new(&dir)).await.expect("read migrations");
    assert!(migrator.iter().any(|m| m.version == 8), "0008 is among {dir}");
    let pool = pool(&db).await;
    migrator.run_to(7, &pool).await.expect("migrate to 0007");
    for row in ROWS {
        sqlx::query(*row).execute(&pool).await.unwrap_or_else(|e| panic!("{row}: {e}"));
    }
    let before = snapshot(&pool).await;
    assert_eq!(before.len(), ROWS.len(), "{before:#?}");
    pool.close().await;

    // The normal open path applies 0008 and everything after it.
    let store = tollbooth_core::store::open(&db.url).await.expect("migrate from 0007");
    let pool = self::pool(&db).await;
    // Every row came through unchanged but for an address brought to its normal form (D-166).
    let expected: Vec<String> =
        before.iter().map(|line| line.replace("Other@Example.com", "other@example.com")).collect();
    assert_ne!(expected, before, "the rows hold an address to normalise");
    assert_eq!(snapshot(&pool).await, expected, "every row came through");

    // The store reads them back as what they were.
    let usd = |s| Money::parse_exact(s, "USD".parse().unwrap()).unwrap();
    let order = store.order(&SESSION_ORDER.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!((order.amount, order.payer.as_str()), (usd("93.15"), "host@example.com"));
    let Purchase::Session { bound, .. } = &order.purchase else { panic!("{order:?}") };
    let meeting = "560d7b78".to_owned();
    assert_eq!(bound, &Binding::Meeting { platform: PlatformKind::Webex, meeting_id: meeting });
    let quote = store.order(&QUOTE_ORDER.parse().unwrap()).await.unwrap().unwrap();
    let Purchase::Session { bound, .. } = &quote.purchase else { panic!("{quote:?}") };
    assert_eq!(bound, &Binding::Quote { message: "9001".into() });
    assert_eq!(quote.payer, "other@example.com");
    let payments = store.payments(&order.id).await.unwrap();
    let states: Vec<State> = payments.iter().map(|p| p.state).collect();
    assert_eq!(states, [State::Failed, State::Captured]);
    assert_eq!(payments[1].captured, usd("7.20"));
    let fee: OrderId = FEE_ORDER.parse().unwrap();
    assert_eq!(store.payments(&fee).await.unwrap()[0].refunded, usd("10.00"));

    // The keys still hold: payments and steps must name an order that exists, and `orders`
    // takes the new kind but nothing else.
    let run = |sql: String| {
        let pool = pool.clone();
        async move { sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await.map(|_| ()) }
    };
    let refused_by = |result: Result<(), sqlx::Error>, fk: bool| match result {
        Err(sqlx::Error::Database(e)) if fk => e.is_foreign_key_violation(),
        Err(sqlx::Error::Database(e)) => e.is_check_violation(),
        _ => false,
    };
    let orphan = "INSERT INTO payments VALUES ('ord_000000000000000000000000-p1',
        'ord_000000000000000000000000', 1, 'sandbox', 'sale', 'created', '1.00', '0.00', '0.00',
        'USD', NULL, NULL, NULL, NULL, 0, 1, 1)";
    assert!(refused_by(run(orphan.into()).await, true), "a payment without its order");
    let orphan_step = format!(
        "INSERT INTO gateway_steps VALUES ('ord_000000000000000000000000', '{QUOTE_ORDER}-p1',
            'void', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'pending', NULL, 1, 1)"
    );
    assert!(refused_by(run(orphan_step).await, true), "a step without its order");
    let kind = |kind: &str| {
        format!(
            "INSERT INTO orders VALUES ('ord_{kind:0>24}', '{kind}', 'host@example.com',
                'host@example.com', '5.40', 'USD', 'sale', NULL, NULL, NULL, NULL, NULL, NULL, 1,
                NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
        )
    };
    run(kind("balance")).await.expect("balance orders are new in 0008");
    assert!(refused_by(run(kind("bogus")).await, false), "the kind check survived");
    if db.backend == "sqlite" {
        let broken: Vec<String> =
            sqlx::query_scalar("SELECT \"table\" FROM pragma_foreign_key_check")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert!(broken.is_empty(), "rows whose foreign key points nowhere: {broken:?}");
        let ok: String =
            sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&pool).await.unwrap();
        assert_eq!(ok, "ok");
    }
}

/// 0028 moves the deliveries not yet applied from a mark in `deliveries` to a queue of their
/// own: the one pending before is queued, the applied and the quarantined ones are not, and a
/// delivery stored afterwards is queued by the statement that stores it.
async fn migration_0028_queues_exactly_the_deliveries_not_applied_yet(db: Db) {
    let dir = format!("{}/migrations/{}", env!("CARGO_MANIFEST_DIR"), db.backend);
    let migrator = Migrator::new(std::path::Path::new(&dir)).await.expect("read migrations");
    let pool = pool(&db).await;
    migrator.run_to(27, &pool).await.expect("migrate to 0027");
    // Not applied, applied, and set aside.
    let marks = [("NULL", "NULL"), ("1764066602000", "NULL"), ("1764066603000", "'unreadable'")];
    for (n, (processed_at, error)) in marks.iter().enumerate() {
        let row = format!(
            "INSERT INTO deliveries (platform, digest, meeting_id, body, received_at,
                 processed_at, error)
             VALUES ('webex', 'digest-{n}', 'm-{n}', '{{}}', 1764066600000, {processed_at}, {error})"
        );
        sqlx::query(sqlx::AssertSqlSafe(row)).execute(&pool).await.expect("a delivery");
    }
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM deliveries ORDER BY id").fetch_all(&pool).await.unwrap();
    pool.close().await;

    let store = tollbooth_core::store::open(&db.url).await.expect("migrate from 0027");
    assert_eq!(store.pending_deliveries(10).await.unwrap(), [ids[0]], "only the one not applied");
    assert_eq!(store.unapplied_deliveries(10).await.unwrap(), 1);
    let kept = store.quarantined_deliveries(10).await.unwrap();
    assert_eq!(kept.iter().map(|q| q.id).collect::<Vec<_>>(), [ids[2]], "still set aside");
    let session = store.session(PlatformKind::Webex, "m-0").await.unwrap().unwrap();
    assert_eq!(session.pending_deliveries, 1, "the session API counts it");

    let later = NewDelivery {
        platform: PlatformKind::Webex,
        digest: "digest-4".into(),
        meeting_id: "m-4".into(),
        body: "{}".into(),
        received_at: chrono::Utc::now(),
        observations: None,
    };
    assert_eq!(store.store_deliveries(&[later.clone(), later]).await.unwrap(), 1);
    assert_eq!(store.pending_deliveries(10).await.unwrap().len(), 2, "queued once when stored");
}
