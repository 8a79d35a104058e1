"""The database of the guide's example apps (docs/migrate-your-app.md): a SQLite file, or a
PostgreSQL database by its URL (postgresql://user@/db?host=/run/postgresql, with Debian's
python3-psycopg2). Written as apps write: their own connection, each statement its own transaction
(autocommit). Nothing of Banyan's in it.
"""
import sqlite3


class Database:
    def __init__(self, target):
        self.postgres = target.startswith(("postgresql://", "postgres://"))
        if self.postgres:
            import psycopg2  # only when asked for: SQLite needs nothing beyond the standard library

            self.conn = psycopg2.connect(target)
            self.conn.autocommit = True
        else:
            self.conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
            self.conn.execute("PRAGMA busy_timeout = 5000")

    def execute(self, sql, params=()):
        """Runs one statement written with ? placeholders; returns its cursor."""
        if self.postgres:
            cur = self.conn.cursor()
            cur.execute(sql.replace("?", "%s"), params)
            return cur
        return self.conn.execute(sql, params)

    def insert(self, sql, params, key):
        """Runs an INSERT and returns the new row's key."""
        if self.postgres:
            return self.execute(sql + " RETURNING " + key, params).fetchone()[0]
        return self.execute(sql, params).lastrowid

    def create_table(self, name, columns, key):
        """CREATE TABLE IF NOT EXISTS name (key <auto id>, columns...)."""
        auto = "bigserial PRIMARY KEY" if self.postgres else "INTEGER PRIMARY KEY AUTOINCREMENT"
        self.execute("CREATE TABLE IF NOT EXISTS %s (%s %s, %s)" % (name, key, auto, columns))
