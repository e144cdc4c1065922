-- Wrong link passwords counted per client network (an IPv4 address or an
-- IPv6 /64), besides the link's own count. Before, only the link's count
-- existed: five wrong guesses from anyone blocked the link for everyone,
-- so a stranger who knew a link could keep its recipients out. Now a
-- network is blocked after a few misses, the whole link only after many.
CREATE TABLE link_failures (
    link          TEXT NOT NULL REFERENCES links(id) ON DELETE CASCADE,
    network       TEXT NOT NULL,
    failures      INTEGER NOT NULL,
    last_failure  INTEGER NOT NULL, -- unix ms
    blocked_until INTEGER NOT NULL, -- unix ms; 0: not blocked
    PRIMARY KEY (link, network)
) WITHOUT ROWID;
