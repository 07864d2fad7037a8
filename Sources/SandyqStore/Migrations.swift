/// Numbered schema migrations. Never edit one that has shipped; append a new one.
enum Migrations {
    static let all: [String] = [
        // 1: the op log (envelopes exactly as received), settings, forks, peers.
        """
        CREATE TABLE ops (
            id BLOB NOT NULL UNIQUE,
            author BLOB NOT NULL,
            seq INTEGER NOT NULL,
            kind INTEGER NOT NULL,
            envelope BLOB NOT NULL
        );
        CREATE INDEX ops_author_seq ON ops(author, seq);
        CREATE INDEX ops_kind ON ops(kind) WHERE kind != 1;
        CREATE TABLE settings (key TEXT PRIMARY KEY, value BLOB NOT NULL);
        CREATE TABLE forks (author BLOB NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (author, seq));
        CREATE TABLE peers (
            node TEXT PRIMARY KEY,
            address TEXT,
            acked BLOB
        );
        """,
        // 2: the mailbox: bundles this node wrote (to replace or delete them later), and
        // ids of bundles it imported (so their senders learn they arrived).
        """
        CREATE TABLE outbox (
            file TEXT PRIMARY KEY,
            peer TEXT NOT NULL,
            bundle_id BLOB NOT NULL,
            vector BLOB NOT NULL
        );
        CREATE TABLE imported_bundles (
            bundle_id BLOB PRIMARY KEY,
            seq INTEGER NOT NULL
        );
        """,
        // 3: session content keys this node opened, each sealed under its storage key, so a
        // view rebuild does not repeat one sealed-box open (a scalar multiplication) per
        // session and reader entry tried: that was 41 % of rebuilding 100,000 ops.
        """
        CREATE TABLE session_keys (
            sid BLOB PRIMARY KEY,
            sealed BLOB NOT NULL
        );
        """,
        // 4: session_keys was keyed by the session id in the clear (author key ‖ session id), so
        // a seizer matched it against the ops and saw which sessions, so which cases, this node
        // reads (a lawyer's list pinpoints the shared cases). Rows are now keyed by a hash under
        // the storage key, with the id sealed inside. The old rows are a cache: dropped, not
        // converted (SQL cannot compute the hash), and overwritten as they are freed.
        """
        PRAGMA secure_delete = ON;
        DROP TABLE session_keys;
        CREATE TABLE session_keys (
            tag BLOB PRIMARY KEY,
            sealed BLOB NOT NULL
        );
        """,
        // 5: what this node granted, as keyed tags only (a hash under a key derived
        // from the storage key): the rows neither name the recipient nor the session, so the
        // store no longer shows which lawyer holds which case. `grant_debts` marks coordinators
        // this node added and still owes the project's past to.
        """
        CREATE TABLE grants (
            recipient BLOB NOT NULL,
            session BLOB NOT NULL,
            PRIMARY KEY (recipient, session)
        );
        CREATE TABLE grant_debts (recipient BLOB PRIMARY KEY);
        """,
        // 6: whether a peer's address was pinned by hand (`peers add`): a TCP client accepts a
        // non-member's key as a server only where it was pinned for that exact address, and a
        // peers row made by the ack ledger alone no longer counts. Until now only `peers add`
        // wrote an address, so every stored address was pinned.
        """
        ALTER TABLE peers ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
        UPDATE peers SET pinned = 1 WHERE address IS NOT NULL;
        """,
        // 7: the mailbox's memory of each peer moves from settings rows (`lastsent:NODE`,
        // `lastack:NODE`, `needsack:NODE`) into columns of its peers row: the vector this node
        // held when it last wrote the peer a bundle, the peer's acknowledged vector at that
        // moment, and whether the peer sent ops it should hear back about.
        """
        ALTER TABLE peers ADD COLUMN last_sent BLOB;
        ALTER TABLE peers ADD COLUMN last_ack_seen BLOB;
        ALTER TABLE peers ADD COLUMN owes_ack INTEGER NOT NULL DEFAULT 0;
        INSERT OR IGNORE INTO peers(node)
            SELECT substr(key, instr(key, ':') + 1) FROM settings
            WHERE key GLOB 'lastsent:*' OR key GLOB 'lastack:*' OR key GLOB 'needsack:*';
        UPDATE peers SET
            last_sent = (SELECT value FROM settings WHERE key = 'lastsent:' || peers.node),
            last_ack_seen = (SELECT value FROM settings WHERE key = 'lastack:' || peers.node),
            owes_ack = EXISTS (SELECT 1 FROM settings WHERE key = 'needsack:' || peers.node);
        DELETE FROM settings WHERE key GLOB 'lastsent:*' OR key GLOB 'lastack:*' OR key GLOB 'needsack:*';
        """,
        // 8: sealed chunks of attached files (Protocol/evidence.md), keyed by file id and index.
        // `pending` is the wall time (ms) an attach wrote a chunk before its record landed; the
        // record's transaction sets it to 0, and opening the store sweeps old pending rows.
        // The 1 MiB blob is the last column and the table keeps its rowid, so reading `pending`
        // or `count` never walks a chunk's overflow pages.
        """
        CREATE TABLE IF NOT EXISTS evidence_chunks (
            fid BLOB NOT NULL,
            idx INTEGER NOT NULL,
            count INTEGER NOT NULL,
            pending INTEGER NOT NULL DEFAULT 0,
            chunk BLOB NOT NULL,
            PRIMARY KEY (fid, idx)
        );
        CREATE INDEX IF NOT EXISTS evidence_chunks_pending ON evidence_chunks(pending) WHERE pending != 0;
        """,
        // 9: who holds which file (Protocol/evidence.md, "Holding statements"). A signed
        // statement is kept once, in `evidence_statements`; `evidence_held` names, per file and
        // holder, the newest statement that lists it. `evidence_local` is this node's own word on
        // a file: when it checked the whole file against its record, and when it let its copy go
        // after a coordinator said it holds the file.
        """
        CREATE TABLE IF NOT EXISTS evidence_statements (
            id INTEGER PRIMARY KEY,
            holder BLOB NOT NULL,
            created INTEGER NOT NULL,
            statement BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS evidence_held (
            fid BLOB NOT NULL,
            holder BLOB NOT NULL,
            count INTEGER NOT NULL,
            verified INTEGER NOT NULL,
            created INTEGER NOT NULL,
            statement INTEGER NOT NULL,
            PRIMARY KEY (fid, holder)
        );
        CREATE INDEX IF NOT EXISTS evidence_held_statement ON evidence_held(statement);
        CREATE TABLE IF NOT EXISTS evidence_local (
            fid BLOB PRIMARY KEY,
            count INTEGER NOT NULL,
            verified INTEGER NOT NULL DEFAULT 0,
            released INTEGER NOT NULL DEFAULT 0
        );
        """,
        // 10: when each unfinished attach began, kept apart from its chunks. The chunks say only
        // `pending = 1`: confirming them sets 0, which SQLite stores in the same zero bytes, so
        // the 1 MiB rows are not rewritten (a timestamp going to 0 shrank every row and cost a
        // second write of the whole file through the log). Rows written before keep their
        // timestamp in `pending` and are swept by it.
        """
        CREATE TABLE IF NOT EXISTS evidence_pending (
            fid BLOB PRIMARY KEY,
            started INTEGER NOT NULL
        );
        """,
        // 11: when each peer last told this node what it holds (wall ms): how stale a replica
        // is, for the loss-risk report. Rows from before have none until the peer is heard again.
        """
        ALTER TABLE peers ADD COLUMN heard_at INTEGER;
        """,
        // 12: the place in its chain of every op a withdrawal named: its bytes are gone, and the
        // stub keeps it out of the store for good and its chain's version vector whole.
        """
        CREATE TABLE IF NOT EXISTS withdrawn (
            id BLOB PRIMARY KEY,
            author BLOB NOT NULL,
            seq INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS withdrawn_author_seq ON withdrawn(author, seq);
        """,
        // 13: the creation time (the peer's clock) of the newest bundle whose vector the ledger
        // took, so a newer bundle can lower `acked` when the peer lost ops and an older cannot.
        """
        ALTER TABLE peers ADD COLUMN bundle_created INTEGER;
        """,
    ]

    static var latest: Int { all.count }
}
