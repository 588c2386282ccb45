-- The three tables of the rates data, with the columns and types of the original dump.
-- IF NOT EXISTS: a pg_dump loaded before the migrations already made them.
CREATE TABLE IF NOT EXISTS regions (
    slug text NOT NULL PRIMARY KEY,
    name text NOT NULL,
    parent_slug text REFERENCES regions (slug)
);

CREATE TABLE IF NOT EXISTS ports (
    code text NOT NULL PRIMARY KEY,
    name text NOT NULL,
    parent_slug text NOT NULL REFERENCES regions (slug)
);

CREATE TABLE IF NOT EXISTS prices (
    orig_code text NOT NULL,
    dest_code text NOT NULL,
    day date NOT NULL,
    price integer NOT NULL
);
