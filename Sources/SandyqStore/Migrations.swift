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
        // 4: whether a peer's address was pinned by hand (`peers add`): a TCP client accepts a
        // non-member's key as a server only where it was pinned for that exact address, and a
        // peers row made by the ack ledger alone no longer counts. Until now only `peers add`
        // wrote an address, so every stored address was pinned.
        """
        ALTER TABLE peers ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
        UPDATE peers SET pinned = 1 WHERE address IS NOT NULL;
        """,
    ]

    static var latest: Int { all.count }
}
