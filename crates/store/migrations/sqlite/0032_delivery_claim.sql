-- The delivery claim reads in proportion to what it hands out (issue 16: 10,000 push
-- messages to one push service were claimed 8 at a time by a claim that ranked every
-- due row). Expand-only (see migrate.rs): three partial indexes on the pending rows,
-- which older code's claim may use too. Keep in step with the other engine's
-- 0032_delivery_claim.sql.

-- The front of the queue in claim order (ties of next_attempt_at, as a fan-out's rows
-- have, broken by id as the claim does). `deliveries_due` is a prefix of it; it stays,
-- as migrations only add.
CREATE INDEX deliveries_due_order ON deliveries (next_attempt_at, id) WHERE state = 'pending';
-- One host's due rows in claim order, and the walk from host to host.
CREATE INDEX deliveries_host_due ON deliveries (host, next_attempt_at, id) WHERE state = 'pending';
-- The leases a host holds now.
CREATE INDEX deliveries_host_leased ON deliveries (host, locked_until) WHERE state = 'pending';
