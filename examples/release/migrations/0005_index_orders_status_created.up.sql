-- migration-gate: no-transaction
-- The "orders to ship" query filters on status and sorts by created_at. Built without
-- blocking writes; IF NOT EXISTS so a retried deploy does not trip over an earlier attempt.
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_status_created_idx ON orders (status, created_at);
