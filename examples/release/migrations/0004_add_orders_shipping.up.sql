-- migration-gate: phase=expand
-- Release 2.4: shipping. Nullable columns without defaults: a catalog change only.
SET lock_timeout = '2s';
SET statement_timeout = '1min';

ALTER TABLE orders ADD COLUMN shipped_at timestamptz;
ALTER TABLE orders ADD COLUMN carrier text;
ALTER TABLE orders ADD CONSTRAINT orders_carrier_known
    CHECK (carrier IN ('dhl', 'ups', 'fedex', 'post')) NOT VALID;
