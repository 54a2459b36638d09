-- Totals above 21 million dollars overflow integer cents.
ALTER TABLE orders ALTER COLUMN total_cents TYPE bigint;
