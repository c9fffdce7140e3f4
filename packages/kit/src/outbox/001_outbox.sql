-- Transactional outbox: events are written in the same transaction as the
-- state change they describe, then relayed to the bus. A crash between the
-- commit and the publish loses nothing; the relay publishes it on restart.
CREATE TABLE IF NOT EXISTS outbox (
  id text PRIMARY KEY,
  type text NOT NULL,
  data jsonb NOT NULL,
  request_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
