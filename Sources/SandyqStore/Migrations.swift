/// Numbered schema migrations. Never edit one that has shipped; append a new one.
enum Migrations {
    static let all: [String] = [
        // 1: the op log (envelopes exactly as received), settings, forks, peers.
        """
        CREATE TABLE ops (
            id BLOB NOT NULL UNIQUE,
            author BLOB NOT NULL,
            seq INTEGER NOT NULL,
            envelope BLOB NOT NULL
        );
        CREATE INDEX ops_author_seq ON ops(author, seq);
        CREATE TABLE settings (key TEXT PRIMARY KEY, value BLOB NOT NULL);
        CREATE TABLE forks (author BLOB NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (author, seq));
        CREATE TABLE peers (
            node TEXT PRIMARY KEY,
            address TEXT,
            acked BLOB
        );
        """,
    ]

    static var latest: Int { all.count }
}
