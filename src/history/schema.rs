//! The SQL of the history file: the tables of each schema version, as migrations applied in
//! order by [`super::store`]. `PRAGMA user_version` is the schema version; `PRAGMA
//! application_id` marks the file as a pmaps history. The README documents these tables for
//! people who query the file with the sqlite3 shell.

/// `PRAGMA application_id` of a pmaps history: "pmHs".
pub const APPLICATION_ID: i32 = 0x706d_4873;

/// The newest schema this binary knows.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Migration `i` brings a file from schema version `i` to `i + 1`.
pub const MIGRATIONS: [&str; 2] = [V1, V2];

/// Schema 1. Integers are raw (bytes, clock ticks, nanoseconds); names and paths are the
/// exact bytes the kernel gave (BLOBs). `hash` columns are 16-byte xxh3-128 digests of a
/// row's content, by which a record finds a row stored before instead of storing it again.
const V1: &str = r#"
CREATE TABLE snapshot (
    id            INTEGER PRIMARY KEY,
    time_ns       INTEGER NOT NULL,   -- when the scan started, Unix time in nanoseconds
    host          TEXT,
    kernel        TEXT,
    pmaps_version TEXT NOT NULL,
    source        TEXT NOT NULL,      -- the file read per process: smaps
    proc_root     BLOB NOT NULL,
    threads       INTEGER NOT NULL,
    duration_ns   INTEGER NOT NULL,   -- how long the scan took
    -- coverage: processes per outcome
    read INTEGER NOT NULL, vanished INTEGER NOT NULL, zombie INTEGER NOT NULL,
    kernel_thread INTEGER NOT NULL, denied INTEGER NOT NULL, incomplete INTEGER NOT NULL,
    error INTEGER NOT NULL,
    mappings      INTEGER NOT NULL,   -- mappings read
    self_pid      INTEGER,            -- pmaps' own PID, left out
    hidden        TEXT,               -- what the proc mount hides (hidepid), if anything
    shared_unknown INTEGER NOT NULL,  -- processes that may share an address space, unknown
    -- the totals of every process read
    size INTEGER NOT NULL, rss INTEGER NOT NULL, pss INTEGER NOT NULL,
    shared_clean INTEGER NOT NULL, shared_dirty INTEGER NOT NULL,
    private_clean INTEGER NOT NULL, private_dirty INTEGER NOT NULL,
    swap INTEGER NOT NULL, swap_pss INTEGER NOT NULL, referenced INTEGER NOT NULL,
    anonymous INTEGER NOT NULL, locked INTEGER NOT NULL,
    known INTEGER NOT NULL            -- bit i set: counter i was printed by the kernel
);
CREATE INDEX snapshot_time ON snapshot(time_ns);

-- Processes that were not read: denied, incomplete, error.
CREATE TABLE problem (
    snapshot_id INTEGER NOT NULL,
    pid         INTEGER NOT NULL,
    comm        BLOB NOT NULL,
    outcome     TEXT NOT NULL,        -- denied, incomplete, error
    path        TEXT,
    errno       INTEGER,
    message     TEXT
);
CREATE INDEX problem_snapshot ON problem(snapshot_id);

-- Processes that share another's address space (CLONE_VM), counted once, with the lowest
-- PID of the group.
CREATE TABLE shared_space (
    snapshot_id  INTEGER NOT NULL,
    pid          INTEGER NOT NULL,
    counted_with INTEGER NOT NULL,
    PRIMARY KEY (snapshot_id, pid)
) WITHOUT ROWID;

-- A cgroup's own counters (memory.current / memory.stat), NULL when unreadable.
CREATE TABLE charge (
    snapshot_id INTEGER NOT NULL,
    hierarchy   TEXT NOT NULL,        -- v2, v1
    path        BLOB NOT NULL,
    current INTEGER, anon INTEGER, file INTEGER, shmem INTEGER, kernel INTEGER,
    PRIMARY KEY (snapshot_id, hierarchy, path)
) WITHOUT ROWID;

-- A process as it was seen: its identity (pid, start_time) and its facts. A process whose
-- command line or cgroup changed has a second row.
CREATE TABLE process (
    id         INTEGER PRIMARY KEY,
    pid        INTEGER NOT NULL,
    start_time INTEGER NOT NULL,      -- clock ticks after boot
    uid        INTEGER,
    user       BLOB NOT NULL,         -- its name when the snapshot was taken
    comm       BLOB NOT NULL,
    command    BLOB NOT NULL,         -- the command line (NULs as spaces), or [comm]
    cgroup     BLOB,
    hierarchy  TEXT,
    hash       BLOB NOT NULL UNIQUE
);
CREATE INDEX process_identity ON process(pid, start_time);

-- A mapped object: (device, inode) and the path bytes it was mapped under.
CREATE TABLE file (
    id        INTEGER PRIMARY KEY,
    dev_major INTEGER NOT NULL,
    dev_minor INTEGER NOT NULL,
    inode     INTEGER NOT NULL,
    path      BLOB NOT NULL,          -- empty: anonymous memory
    kind      TEXT NOT NULL,          -- file, deleted, heap, stack, anon, shm, memfd, hugetlb,
                                      -- vdso, other
    hash      BLOB NOT NULL UNIQUE
);

-- One process's share of one file: its mappings of it and their summed counters.
CREATE TABLE usage (
    id       INTEGER PRIMARY KEY,
    file_id  INTEGER NOT NULL REFERENCES file(id),
    mappings INTEGER NOT NULL,
    size INTEGER NOT NULL, rss INTEGER NOT NULL, pss INTEGER NOT NULL,
    shared_clean INTEGER NOT NULL, shared_dirty INTEGER NOT NULL,
    private_clean INTEGER NOT NULL, private_dirty INTEGER NOT NULL,
    swap INTEGER NOT NULL, swap_pss INTEGER NOT NULL, referenced INTEGER NOT NULL,
    anonymous INTEGER NOT NULL, locked INTEGER NOT NULL, known INTEGER NOT NULL,
    refs     INTEGER NOT NULL,        -- how many states list it
    hash     BLOB NOT NULL UNIQUE
);
CREATE INDEX usage_file ON usage(file_id);

-- The memory of a process at one moment: its totals, and its usage rows (`usages`, a JSON
-- array of usage ids: `json_each(state.usages)` lists them).
CREATE TABLE state (
    id       INTEGER PRIMARY KEY,
    mappings INTEGER NOT NULL,
    size INTEGER NOT NULL, rss INTEGER NOT NULL, pss INTEGER NOT NULL,
    shared_clean INTEGER NOT NULL, shared_dirty INTEGER NOT NULL,
    private_clean INTEGER NOT NULL, private_dirty INTEGER NOT NULL,
    swap INTEGER NOT NULL, swap_pss INTEGER NOT NULL, referenced INTEGER NOT NULL,
    anonymous INTEGER NOT NULL, locked INTEGER NOT NULL, known INTEGER NOT NULL,
    usages   TEXT NOT NULL,
    hash     BLOB NOT NULL UNIQUE
);

-- Which processes a snapshot read, and the state each was in.
CREATE TABLE snapshot_process (
    snapshot_id INTEGER NOT NULL,
    process_id  INTEGER NOT NULL,
    state_id    INTEGER NOT NULL,
    PRIMARY KEY (snapshot_id, process_id)
) WITHOUT ROWID;
CREATE INDEX snapshot_process_state ON snapshot_process(state_id);
CREATE INDEX snapshot_process_process ON snapshot_process(process_id);

-- For the sqlite3 shell: one row per (snapshot, process, file), as a report has them.
CREATE VIEW process_file AS
SELECT sp.snapshot_id, p.pid, p.start_time, p.uid, p.user, p.comm, p.command,
       f.dev_major, f.dev_minor, f.inode, f.path, f.kind, u.mappings,
       u.size, u.rss, u.pss, u.shared_clean, u.shared_dirty, u.private_clean,
       u.private_dirty, u.swap, u.swap_pss, u.referenced, u.anonymous, u.locked,
       u.private_clean + u.private_dirty AS uss
FROM snapshot_process sp
JOIN process p ON p.id = sp.process_id
JOIN state s ON s.id = sp.state_id
JOIN json_each(s.usages) j
JOIN usage u ON u.id = j.value
JOIN file f ON f.id = u.file_id;

-- For the sqlite3 shell: one row per (snapshot, process) with its totals.
CREATE VIEW process_total AS
SELECT sp.snapshot_id, p.pid, p.start_time, p.uid, p.user, p.comm, p.command, p.cgroup,
       s.mappings, s.size, s.rss, s.pss, s.shared_clean, s.shared_dirty, s.private_clean,
       s.private_dirty, s.swap, s.swap_pss, s.referenced, s.anonymous, s.locked,
       s.private_clean + s.private_dirty AS uss
FROM snapshot_process sp
JOIN process p ON p.id = sp.process_id
JOIN state s ON s.id = sp.state_id;
"#;

/// Schema 2: each process's mappings as `pmaps show --merge` folds them (a run of one file's
/// consecutive mappings is one row; an anonymous mapping is a row of its own), so that
/// `pmaps --at SNAPSHOT show --merge` shows what a live one showed. A state recorded under
/// schema 1 has no runs (`runs` is NULL).
const V2: &str = r#"
-- One row of `show --merge`: a file's consecutive mappings folded, or one anonymous mapping.
-- Addresses and offsets are the kernel's 64-bit values stored as their two's-complement bit
-- pattern (an address from 2^63 up, the vsyscall page, is negative: printf('%x', start)).
CREATE TABLE run (
    id       INTEGER PRIMARY KEY,
    file_id  INTEGER NOT NULL REFERENCES file(id),
    start    INTEGER NOT NULL,        -- first mapping's start address
    end      INTEGER NOT NULL,        -- last mapping's end address
    perms    TEXT NOT NULL,           -- rwxp letters; one that differs between mappings is *
    offset   INTEGER NOT NULL,        -- first mapping's file offset
    mappings INTEGER NOT NULL,
    size INTEGER NOT NULL, rss INTEGER NOT NULL, pss INTEGER NOT NULL,
    shared_clean INTEGER NOT NULL, shared_dirty INTEGER NOT NULL,
    private_clean INTEGER NOT NULL, private_dirty INTEGER NOT NULL,
    swap INTEGER NOT NULL, swap_pss INTEGER NOT NULL, referenced INTEGER NOT NULL,
    anonymous INTEGER NOT NULL, locked INTEGER NOT NULL, known INTEGER NOT NULL,
    refs     INTEGER NOT NULL,        -- how many states list it
    hash     BLOB NOT NULL            -- found again among the same process's previous runs
);

-- A state's runs in address order (a JSON array of run ids); NULL: recorded under schema 1.
ALTER TABLE state ADD COLUMN runs TEXT;

-- For the sqlite3 shell: one row per (snapshot, process, run), as `show --merge` has them.
CREATE VIEW process_run AS
SELECT sp.snapshot_id, p.pid, p.start_time, p.comm, j.key AS position,
       printf('%012x', r.start) AS address, printf('%012x', r.end) AS end_address, r.perms,
       r.offset, f.dev_major, f.dev_minor, f.inode, f.path, f.kind, r.mappings,
       r.size, r.rss, r.pss, r.shared_clean, r.shared_dirty, r.private_clean,
       r.private_dirty, r.swap, r.swap_pss, r.referenced, r.anonymous, r.locked,
       r.private_clean + r.private_dirty AS uss
FROM snapshot_process sp
JOIN process p ON p.id = sp.process_id
JOIN state s ON s.id = sp.state_id
JOIN json_each(s.runs) j
JOIN run r ON r.id = j.value
JOIN file f ON f.id = r.file_id;
"#;
