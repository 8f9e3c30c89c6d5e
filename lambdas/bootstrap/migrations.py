"""The MySQL schema, created once by the master user: the application user cannot create tables.

The bootstrap function runs these on RDS at every apply (they are idempotent); the local stack
and the tests run the same statements against MariaDB (scripts/harness/stack/mariadb.py), so
this is the one definition of the `users` table. user_id and version compare byte-wise
(utf8mb4_bin / ascii_bin) exactly as DynamoDB compares keys and strings; 92 is the handler's
version length (registration.models.VERSION_LENGTH, a test keeps them equal).
"""

MIGRATIONS = (
    """
CREATE TABLE IF NOT EXISTS users (
    user_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    name VARCHAR(200) NOT NULL,
    email VARCHAR(254) NULL,
    registered_at DATETIME(6) NOT NULL,
    version VARCHAR(92) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    PRIMARY KEY (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
""",
)
