#!/usr/bin/env python3
"""A small HTTP app standing in for "your monolith" in docs/migrate-your-app.md.

JSON over HTTP like most apps, and like most apps it has no health endpoint, no change feed, and a
volatile field in every answer (served_at). Its items live in SQLite (--db FILE; in memory without
it) or PostgreSQL (--db postgresql://…), written the way apps write: its own connection, a
transaction per request. Started twice, it also
stands in for the service extracted from it: the same answers from another process.

    inventory_app.py [--listen 127.0.0.1:0] [--name NAME] [--db FILE|postgresql://URL]

Prints "listening on HOST:PORT" once bound, as Banyan's servers do. Standard library only (and
psycopg2 for PostgreSQL): nothing of Banyan's in it.
"""
import argparse
import datetime
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from example_db import Database

DB = None
LOCK = threading.Lock()
COLUMNS = "id, name, stock, price_cents"


def open_db(target):
    db = Database(target)
    db.create_table("items", "name TEXT NOT NULL, stock INTEGER NOT NULL DEFAULT 0,"
                             " price_cents INTEGER NOT NULL DEFAULT 0", key="id")
    if db.execute("SELECT count(*) FROM items").fetchone()[0] == 0:
        for i in range(1, 41):
            db.execute("INSERT INTO items (id, name, stock, price_cents) VALUES (?, ?, ?, ?)",
                       (i, "Item %d" % i, (i * 7) % 50, 100 * i + 99))
        if db.postgres:  # ids given explicitly: the sequence moves past them
            db.execute("SELECT setval('items_id_seq', 40)")
    return db


def item_of(row):
    return dict(zip(("id", "name", "stock", "price_cents"), row)) if row else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_name = "app"

    def setup(self):
        super().setup()
        # The head and the body leave in two writes: without this, Nagle's algorithm and the
        # peer's delayed ACK hold the body ~40 ms on a kept-alive connection.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def answer(self, status, doc):
        doc = dict(doc, served_at=datetime.datetime.now(datetime.timezone.utc).isoformat(), served_by=self.server_name)
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        length = int(self.headers.get("Content-Length", 0))
        try:
            doc = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return None
        return doc if isinstance(doc, dict) else None

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        with LOCK:
            if path == "/api/items":
                rows = DB.execute("SELECT %s FROM items ORDER BY id" % COLUMNS).fetchall()
                return self.answer(200, {"items": [item_of(r) for r in rows]})
            m = re.fullmatch(r"/api/items/(\d+)", path)
            if m:
                item = item_of(DB.execute("SELECT %s FROM items WHERE id = ?" % COLUMNS, (int(m.group(1)),)).fetchone())
                return self.answer(200, item) if item else self.answer(404, {"error": "no such item"})
            if path == "/api/report":
                n, stock = DB.execute("SELECT count(*), coalesce(sum(stock), 0) FROM items").fetchone()
                return self.answer(200, {"items": n, "stock": stock})
        return self.answer(404, {"error": "not found"})

    do_HEAD = do_GET

    def do_POST(self):
        body = self.body()
        if self.path != "/api/items" or body is None or "name" not in body:
            return self.answer(400, {"error": "POST /api/items with a name"})
        with LOCK:
            new_id = DB.insert("INSERT INTO items (name, stock, price_cents) VALUES (?, ?, ?)",
                               (body["name"], int(body.get("stock", 0)), int(body.get("price_cents", 0))), key="id")
            item = item_of(DB.execute("SELECT %s FROM items WHERE id = ?" % COLUMNS, (new_id,)).fetchone())
        return self.answer(201, item)

    def do_PUT(self):
        m = re.fullmatch(r"/api/items/(\d+)", self.path)
        body = self.body()
        if not m or body is None:
            return self.answer(400, {"error": "PUT /api/items/ID with the fields to change"})
        with LOCK:
            item = item_of(DB.execute("SELECT %s FROM items WHERE id = ?" % COLUMNS, (int(m.group(1)),)).fetchone())
            if not item:
                return self.answer(404, {"error": "no such item"})
            item.update({k: body[k] for k in ("name", "stock", "price_cents") if k in body})
            DB.execute("UPDATE items SET name = ?, stock = ?, price_cents = ? WHERE id = ?",
                       (item["name"], int(item["stock"]), int(item["price_cents"]), item["id"]))
        return self.answer(200, item)

    def do_DELETE(self):
        m = re.fullmatch(r"/api/items/(\d+)", self.path)
        if not m:
            return self.answer(404, {"error": "not found"})
        with LOCK:
            gone = DB.execute("DELETE FROM items WHERE id = ?", (int(m.group(1)),)).rowcount
        return self.answer(200, {"deleted": int(m.group(1))}) if gone else self.answer(404, {"error": "no such item"})

    def log_message(self, *args):
        pass


def main():
    global DB
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:0")
    p.add_argument("--name", default="monolith")
    p.add_argument("--db", default=":memory:")
    a = p.parse_args()
    DB = open_db(a.db)
    host, port = a.listen.rsplit(":", 1)
    Handler.server_name = a.name
    server = ThreadingHTTPServer((host, int(port)), Handler)
    print("listening on %s:%d" % server.server_address[:2], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
