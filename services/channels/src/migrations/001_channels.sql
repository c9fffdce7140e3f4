CREATE TABLE channels (
  id text PRIMARY KEY,
  owner_id text NOT NULL,
  -- The owner's username lowercased when the channel was created; its address.
  name text NOT NULL,
  title text NOT NULL,
  category text NOT NULL DEFAULT '',
  -- HMAC-SHA256 of the stream key under a secret the database never sees:
  -- finds the channel of a key on publish, and authorizes nothing by itself.
  stream_key_hash bytea NOT NULL,
  -- AES-256-GCM of the stream key (nonce | ciphertext | tag), bound to the
  -- channel id, so the owner can be shown the key again.
  stream_key_sealed bytea NOT NULL,
  stream_key_rotated_at timestamptz NOT NULL DEFAULT now(),
  -- Set while the owner is banned. owner_state_at is the time of the ban or
  -- unban applied last, so a late redelivery of an older event changes nothing.
  disabled boolean NOT NULL DEFAULT false,
  owner_state_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX channels_owner_key ON channels (owner_id);
CREATE UNIQUE INDEX channels_name_key ON channels (name);
CREATE UNIQUE INDEX channels_stream_key_hash_key ON channels (stream_key_hash);

-- The source of truth for live sessions; the live directory in the cache is
-- a view of the open ones.
CREATE TABLE live_sessions (
  id text PRIMARY KEY,
  channel_id text NOT NULL REFERENCES channels (id),
  ingest_node text NOT NULL,
  -- The publisher's connection on its ingest node, and its address.
  connection_id text NOT NULL DEFAULT '',
  client_addr text NOT NULL DEFAULT '',
  -- The stream_key_hash the session was published with, to end it by key
  -- (nginx-rtmp's on_publish_done) even after the key was rotated.
  publish_key_hash bytea NOT NULL,
  started_at timestamptz NOT NULL,
  -- When the current publisher connected (the start, or the last resume).
  connected_at timestamptz NOT NULL,
  ended_at timestamptz,
  publisher_connected boolean NOT NULL DEFAULT true,
  disconnected_at timestamptz,
  resume_count integer NOT NULL DEFAULT 0,
  end_reason text NOT NULL DEFAULT '',
  recording_key text,
  recording_duration_seconds double precision
);
-- At most one connected publisher per channel.
CREATE UNIQUE INDEX live_sessions_one_publisher ON live_sessions (channel_id)
  WHERE ended_at IS NULL AND publisher_connected;
CREATE INDEX live_sessions_open ON live_sessions (channel_id, started_at) WHERE ended_at IS NULL;
CREATE INDEX live_sessions_key ON live_sessions (publish_key_hash, started_at);
