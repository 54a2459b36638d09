-- Seeds a database as production looks before release 2.4: migrations 0001-0003 applied
-- (recorded in golang-migrate's schema_migrations table) and a few thousand rows, so the
-- dry run has real locks to take and real tables to rewrite. Run after applying
-- migrations/0001..0003 with psql (scripts/demo.d/30-migration-gate.sh does both).
CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
INSERT INTO schema_migrations VALUES (3, false);

INSERT INTO customers (email, name)
SELECT 'customer' || g || '@example.com', 'Customer ' || g FROM generate_series(1, 2000) g;

INSERT INTO orders (customer_id, status, total_cents, created_at)
SELECT 1 + (g % 2000), (ARRAY['new', 'paid', 'shipped', 'cancelled'])[1 + g % 4], 500 + (g * 37) % 90000,
       now() - make_interval(hours => g)
FROM generate_series(1, 20000) g;

INSERT INTO order_items (order_id, sku, quantity, price_cents)
SELECT 1 + (g % 20000), 'SKU-' || (g % 500), 1 + g % 3, 250 + (g * 13) % 5000
FROM generate_series(1, 40000) g;

ANALYZE;
