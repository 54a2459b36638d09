-- The "orders to ship" query filters on status and sorts by created_at.
CREATE INDEX orders_status_created_idx ON orders (status, created_at);
