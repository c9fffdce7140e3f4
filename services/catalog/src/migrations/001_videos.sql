-- array_to_string is only STABLE and a generated column needs IMMUTABLE
-- functions; joining text with a space is immutable in fact.
CREATE FUNCTION tags_text(tags text[]) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT array_to_string(tags, ' ') $$;

CREATE TABLE videos (
  id text PRIMARY KEY,
  owner_id text NOT NULL,
  title text NOT NULL,
  description text NOT NULL DEFAULT '',
  -- Lowercased, deduplicated, at most 15.
  tags text[] NOT NULL DEFAULT '{}',
  visibility text NOT NULL CHECK (visibility IN ('public', 'unlisted', 'private')),
  status text NOT NULL DEFAULT 'draft'
    CHECK (status IN ('draft', 'uploaded', 'processing', 'ready', 'failed')),
  -- Encoding progress, 0-100; only ever grows.
  progress double precision NOT NULL DEFAULT 0,
  -- The newest sign of life from the encoder (a progress event's time).
  progress_at timestamptz,
  failure_stage text CHECK (failure_stage IN ('upload', 'encode')),
  failure_reason text NOT NULL DEFAULT '',
  -- Time of the last failure applied (the event's), kept after a re-upload
  -- resets the video to draft, so a redelivered old failure changes nothing.
  failed_at timestamptz,
  -- From video.uploaded.v1, kept so the reconciler can publish it again.
  source_key text,
  source_size_bytes bigint,
  probe jsonb,
  uploaded_at timestamptz,
  duration_seconds double precision NOT NULL DEFAULT 0,
  -- From video.encoded.v1: the ladder and the outputs' storage keys.
  renditions jsonb NOT NULL DEFAULT '[]',
  hls_key text,
  dash_key text,
  poster_key text,
  storyboard jsonb,
  view_count bigint NOT NULL DEFAULT 0,
  -- When the reconciler last published video.uploaded.v1 again for a stuck video.
  republished_at timestamptz,
  republish_count integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  -- When the video first became READY; the "new" order of the public catalog.
  published_at timestamptz,
  search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', title), 'A')
    || setweight(to_tsvector('simple', tags_text(tags)), 'B')
    || setweight(to_tsvector('simple', description), 'C')
  ) STORED
);

CREATE INDEX videos_search ON videos USING gin (search);
CREATE INDEX videos_owner ON videos (owner_id, id DESC);
CREATE INDEX videos_public_new ON videos (published_at DESC, id DESC)
  WHERE status = 'ready' AND visibility = 'public';
CREATE INDEX videos_public_views ON videos (view_count DESC, id DESC)
  WHERE status = 'ready' AND visibility = 'public';
CREATE INDEX videos_in_pipeline ON videos (updated_at) WHERE status IN ('uploaded', 'processing');
