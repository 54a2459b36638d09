-- Validating takes SHARE UPDATE EXCLUSIVE only: reads and writes go on.
SET lock_timeout = '2s';
SET statement_timeout = '5min';

ALTER TABLE orders VALIDATE CONSTRAINT orders_carrier_known;
