//! The shop API on the schema of examples/release/migrations: customers, orders and their
//! items, JSON in and out, the tenant from `X-Tenant` (or `?tenant=`; `default` when absent).
//! `POST /orders` writes the order, its items and its tenant in one transaction;
//! `GET /orders/{id}` reads through the Redis cache (cache-aside, `--cache-ttl`). Every
//! write publishes an event on the ingest stream once its transaction committed.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use redis::AsyncCommands as _;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::events;
use crate::migrate::pg_message;
use crate::state::AppState;

/// An API error: its status and a one-line `{"error": …}` body.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl ApiError {
    fn unavailable(what: &str, e: impl std::fmt::Display) -> ApiError {
        tracing::warn!("{what}: {e}");
        ApiError(StatusCode::SERVICE_UNAVAILABLE, format!("{what}: {e}"))
    }

    fn pg(what: &str, e: &tokio_postgres::Error) -> ApiError {
        match e.code().map(|c| c.code()) {
            // unique_violation
            Some("23505") => ApiError(StatusCode::CONFLICT, pg_message(e)),
            // foreign_key_violation, check_violation, not_null_violation, numeric out of range
            Some("23503" | "23514" | "23502" | "22003") => {
                ApiError(StatusCode::UNPROCESSABLE_ENTITY, pg_message(e))
            }
            _ => {
                tracing::warn!("{what}: {}", pg_message(e));
                ApiError(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("{what}: {}", pg_message(e)),
                )
            }
        }
    }
}

/// The request's tenant: `X-Tenant`, else `?tenant=`, else `default`; 1–64 of
/// `[A-Za-z0-9._-]`.
#[derive(Debug, Clone)]
pub struct Tenant(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let from_header = parts
            .headers
            .get("x-tenant")
            .map(|v| v.to_str().unwrap_or("\u{fffd}").to_owned());
        let from_query = || {
            parts.uri.query().and_then(|q| {
                q.split('&')
                    .find_map(|kv| kv.strip_prefix("tenant="))
                    .map(str::to_owned)
            })
        };
        let t = from_header
            .or_else(from_query)
            .unwrap_or_else(|| "default".to_owned());
        if t.is_empty()
            || t.len() > 64
            || !t
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("tenant {t:?}: 1-64 characters of A-Z a-z 0-9 . _ -"),
            ));
        }
        Ok(Tenant(t))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    pub email: String,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    pub customer_id: i64,
    pub items: Vec<NewItem>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    pub sku: String,
    pub quantity: i32,
    pub price_cents: i32,
}

/// `to_char` format of a UTC timestamp in RFC 3339 with milliseconds.
macro_rules! iso {
    () => {
        r#"'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'"#
    };
}

const INSERT_CUSTOMER: &str = concat!(
    "INSERT INTO customers (email, name) VALUES ($1, $2) \
     RETURNING id, to_char(created_at AT TIME ZONE 'UTC', ",
    iso!(),
    ")"
);

const SELECT_CUSTOMER: &str = concat!(
    "SELECT id, email, name, to_char(created_at AT TIME ZONE 'UTC', ",
    iso!(),
    ") FROM customers WHERE id = $1"
);

/// The order, its items and its tenant: one statement, inside the request's transaction.
const INSERT_ORDER: &str = concat!(
    "WITH o AS (INSERT INTO orders (customer_id, total_cents) VALUES ($1, $2) \
                RETURNING id, status, created_at), \
          i AS (INSERT INTO order_items (order_id, sku, quantity, price_cents) \
                SELECT o.id, u.sku, u.quantity, u.price FROM o, \
                unnest($3::text[], $4::int4[], $5::int4[]) AS u(sku, quantity, price)), \
          t AS (INSERT INTO order_tenants (order_id, tenant) SELECT id, $6 FROM o) \
     SELECT id, status, to_char(created_at AT TIME ZONE 'UTC', ",
    iso!(),
    ") FROM o"
);

/// The order document as JSON, built by PostgreSQL; only the tenant's own orders.
const SELECT_ORDER: &str = concat!(
    "SELECT json_build_object( \
        'id', o.id, 'customer_id', o.customer_id, 'status', o.status, \
        'total_cents', o.total_cents, \
        'created_at', to_char(o.created_at AT TIME ZONE 'UTC', ",
    iso!(),
    "), \
        'items', coalesce((SELECT json_agg(json_build_object('sku', i.sku, 'quantity', i.quantity, \
                           'price_cents', i.price_cents) ORDER BY i.id) \
                           FROM order_items i WHERE i.order_id = o.id), '[]'::json))::text \
     FROM orders o JOIN order_tenants t ON t.order_id = o.id AND t.tenant = $2 \
     WHERE o.id = $1"
);

/// The `{id}` of a path, or our one-line JSON error.
fn path_id(
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> Result<i64, ApiError> {
    id.map(|Path(id)| id)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.body_text()))
}

/// The body extractor's rejection, as our one-line JSON error.
fn json_body<T>(
    body: Result<Json<T>, axum::extract::rejection::JsonRejection>,
) -> Result<T, ApiError> {
    body.map(|Json(v)| v)
        .map_err(|e| ApiError(e.status(), e.body_text()))
}

pub async fn create_customer(
    State(st): State<AppState>,
    Tenant(tenant): Tenant,
    body: Result<Json<NewCustomer>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let c = json_body(body)?;
    if c.email.trim().is_empty() {
        return Err(ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            "email is empty".into(),
        ));
    }
    let mut db = st
        .pool
        .get()
        .await
        .map_err(|e| ApiError::unavailable("PostgreSQL", pg_message(&e)))?;
    let sql = db
        .prepared(INSERT_CUSTOMER)
        .await
        .map_err(|e| ApiError::pg("preparing", &e))?;
    let row = db
        .query_one(&sql, &[&c.email, &c.name])
        .await
        .map_err(|e| ApiError::pg("inserting the customer", &e))?;
    drop(db);
    let id: i64 = row.get(0);
    let created_at: String = row.get(1);
    let doc = json!({ "id": id, "email": c.email, "name": c.name, "created_at": created_at });
    publish(
        &st,
        &tenant,
        "customer.created",
        &json!({ "customer_id": id, "email": c.email }),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(doc)))
}

pub async fn get_customer(
    State(st): State<AppState>,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(id)?;
    let mut db = st
        .pool
        .get()
        .await
        .map_err(|e| ApiError::unavailable("PostgreSQL", pg_message(&e)))?;
    let sql = db
        .prepared(SELECT_CUSTOMER)
        .await
        .map_err(|e| ApiError::pg("preparing", &e))?;
    let row = db
        .query_opt(&sql, &[&id])
        .await
        .map_err(|e| ApiError::pg("reading the customer", &e))?
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("customer {id} not found")))?;
    Ok(Json(json!({
        "id": row.get::<_, i64>(0),
        "email": row.get::<_, String>(1),
        "name": row.get::<_, Option<String>>(2),
        "created_at": row.get::<_, String>(3),
    })))
}

pub async fn create_order(
    State(st): State<AppState>,
    Tenant(tenant): Tenant,
    body: Result<Json<NewOrder>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let o = json_body(body)?;
    if o.items.is_empty() {
        return Err(ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            "an order needs at least one item".into(),
        ));
    }
    let mut total: i64 = 0;
    for it in &o.items {
        if it.quantity <= 0 || it.price_cents < 0 || it.sku.is_empty() {
            return Err(ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "item {:?}: needs a sku, quantity > 0 and price_cents >= 0",
                    it.sku
                ),
            ));
        }
        total += i64::from(it.quantity) * i64::from(it.price_cents);
    }
    let total = i32::try_from(total).map_err(|_| {
        ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the order's total is too large".into(),
        )
    })?;
    let skus: Vec<&str> = o.items.iter().map(|i| i.sku.as_str()).collect();
    let qtys: Vec<i32> = o.items.iter().map(|i| i.quantity).collect();
    let prices: Vec<i32> = o.items.iter().map(|i| i.price_cents).collect();

    let mut db = st
        .pool
        .get()
        .await
        .map_err(|e| ApiError::unavailable("PostgreSQL", pg_message(&e)))?;
    let sql = db
        .prepared(INSERT_ORDER)
        .await
        .map_err(|e| ApiError::pg("preparing", &e))?;
    let tx = db
        .transaction()
        .await
        .map_err(|e| ApiError::pg("BEGIN", &e))?;
    let row = tx
        .query_one(
            &sql,
            &[&o.customer_id, &total, &skus, &qtys, &prices, &tenant],
        )
        .await
        .map_err(|e| ApiError::pg("inserting the order", &e))?;
    tx.commit().await.map_err(|e| ApiError::pg("COMMIT", &e))?;
    drop(db);
    let id: i64 = row.get(0);
    let items: Vec<Value> = o
        .items
        .iter()
        .map(|i| json!({ "sku": i.sku, "quantity": i.quantity, "price_cents": i.price_cents }))
        .collect();
    let doc = json!({
        "id": id,
        "customer_id": o.customer_id,
        "status": row.get::<_, String>(1),
        "total_cents": total,
        "created_at": row.get::<_, String>(2),
        "items": items,
    });
    publish(
        &st,
        &tenant,
        "order.created",
        &json!({ "order_id": id, "customer_id": o.customer_id, "total_cents": total, "items": doc["items"] }),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(doc)))
}

pub async fn get_order(
    State(st): State<AppState>,
    Tenant(tenant): Tenant,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let id = path_id(id)?;
    let key = format!("order:{tenant}:{id}");
    let mut redis = st.redis.clone();
    match redis.get::<_, Option<String>>(&key).await {
        Ok(Some(doc)) => {
            st.metrics.cache("hit");
            return Ok(json_response(doc, "hit"));
        }
        Ok(None) => st.metrics.cache("miss"),
        Err(e) => {
            tracing::warn!("order cache: {e}");
            st.metrics.cache("error");
        }
    }
    let mut db = st
        .pool
        .get()
        .await
        .map_err(|e| ApiError::unavailable("PostgreSQL", pg_message(&e)))?;
    let sql = db
        .prepared(SELECT_ORDER)
        .await
        .map_err(|e| ApiError::pg("preparing", &e))?;
    let row = db
        .query_opt(&sql, &[&id, &tenant])
        .await
        .map_err(|e| ApiError::pg("reading the order", &e))?
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("order {id} not found")))?;
    drop(db);
    let doc: String = row.get(0);
    let ttl = st.settings.cache_ttl.as_secs().max(1);
    if let Err(e) = redis.set_ex::<_, _, ()>(&key, &doc, ttl).await {
        tracing::warn!("order cache: {e}");
    }
    Ok(json_response(doc, "miss"))
}

fn json_response(doc: String, cache: &'static str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("x-cache", HeaderValue::from_static(cache));
    (StatusCode::OK, headers, doc).into_response()
}

/// Publishes the event of a committed write. If Redis refuses, the write stands but the
/// caller hears about the lost event (503), as a real outbox-less service would fail.
async fn publish(st: &AppState, tenant: &str, kind: &str, payload: &Value) -> Result<(), ApiError> {
    let mut redis = st.redis.clone();
    let poison = st.faults.draw_poison();
    events::publish(
        &mut redis,
        &st.settings.stream,
        tenant,
        kind,
        payload,
        poison,
    )
    .await
    .map_err(|e| {
        ApiError::unavailable(
            "the write committed but its event was not published (Redis)",
            e,
        )
    })?;
    st.metrics.events_published.inc();
    Ok(())
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: PostgreSQL and Redis both answer (within 2 s each).
pub async fn readyz(State(st): State<AppState>) -> (StatusCode, Json<Value>) {
    let limit = std::time::Duration::from_secs(2);
    let pg = tokio::time::timeout(limit, async {
        let db = st.pool.get().await.map_err(|e| pg_message(&e))?;
        db.simple_query("SELECT 1")
            .await
            .map_err(|e| pg_message(&e))?;
        Ok::<_, String>(())
    })
    .await
    .unwrap_or_else(|_| Err("no answer within 2s".into()));
    let mut redis = st.redis.clone();
    let rd = tokio::time::timeout(limit, redis::cmd("PING").query_async::<String>(&mut redis))
        .await
        .map_err(|_| "no answer within 2s".to_owned())
        .and_then(|r| r.map(|_| ()).map_err(|e| e.to_string()));
    let status = |r: &Result<(), String>| match r {
        Ok(()) => Value::from("ok"),
        Err(e) => Value::from(e.as_str()),
    };
    let code = if pg.is_ok() && rd.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Json(json!({ "postgres": status(&pg), "redis": status(&rd) })),
    )
}
