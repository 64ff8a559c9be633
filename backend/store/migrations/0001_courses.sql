-- Courses of the learning platform: the small read path the smoke tests use.
CREATE TABLE IF NOT EXISTS courses (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    title       TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    summary     TEXT NOT NULL DEFAULT '',
    level       TEXT NOT NULL DEFAULT 'beginner' CHECK (level IN ('beginner', 'intermediate', 'advanced')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

INSERT INTO courses (slug, title, summary, level) VALUES
    ('agent-foundations', 'Agent foundations', 'What an AI agent is: the loop of observe, think and act.', 'beginner'),
    ('tool-calling', 'Tool calling', 'Give an agent tools and let it decide when to use them.', 'intermediate'),
    ('multi-agent-systems', 'Multi-agent systems', 'Coordinate several agents on one task.', 'advanced')
ON CONFLICT (slug) DO NOTHING;
