#!/usr/bin/env python3
"""The service extracted from docs/examples/inventory_app.py, in docs/migrate-your-app.md section 5.

Written afresh, as an extracted service is: its own SQLite database and its own schema (table
products: pid, title, qty, price_cents), answering the monolith's item API with the same JSON.
It knows nothing of the monolith or of Banyan: banyan-sync copies and follows the monolith's
database into this one, and publishes this one's changes once the service owns the writes.

    items_service.py [--listen 127.0.0.1:0] --db FILE|postgresql://URL

Prints "listening on HOST:PORT" once bound. Standard library only.
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
SELECT = "SELECT pid, title, qty, price_cents FROM products"


def item_of(row):
    return {"id": row[0], "name": row[1], "stock": row[2], "price_cents": row[3]} if row else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def answer(self, status, doc):
        doc = dict(doc, served_at=datetime.datetime.now(datetime.timezone.utc).isoformat(), served_by="items-service")
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        try:
            doc = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        except ValueError:
            return None
        return doc if isinstance(doc, dict) else None

    def one(self, pid):
        return item_of(DB.execute(SELECT + " WHERE pid = ?", (pid,)).fetchone())

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        with LOCK:
            if path == "/api/items":
                return self.answer(200, {"items": [item_of(r) for r in DB.execute(SELECT + " ORDER BY pid")]})
            m = re.fullmatch(r"/api/items/(\d+)", path)
            if m:
                item = self.one(int(m.group(1)))
                return self.answer(200, item) if item else self.answer(404, {"error": "no such item"})
        return self.answer(404, {"error": "not found"})

    do_HEAD = do_GET

    def do_POST(self):
        body = self.body()
        if self.path != "/api/items" or body is None or "name" not in body:
            return self.answer(400, {"error": "POST /api/items with a name"})
        with LOCK:
            pid = DB.insert("INSERT INTO products (title, qty, price_cents) VALUES (?, ?, ?)",
                            (body["name"], int(body.get("stock", 0)), int(body.get("price_cents", 0))), key="pid")
            item = self.one(pid)
        return self.answer(201, item)

    def do_PUT(self):
        m = re.fullmatch(r"/api/items/(\d+)", self.path)
        body = self.body()
        if not m or body is None:
            return self.answer(400, {"error": "PUT /api/items/ID with the fields to change"})
        with LOCK:
            item = self.one(int(m.group(1)))
            if not item:
                return self.answer(404, {"error": "no such item"})
            item.update({k: body[k] for k in ("name", "stock", "price_cents") if k in body})
            DB.execute("UPDATE products SET title = ?, qty = ?, price_cents = ? WHERE pid = ?",
                       (item["name"], int(item["stock"]), int(item["price_cents"]), item["id"]))
        return self.answer(200, item)

    def do_DELETE(self):
        m = re.fullmatch(r"/api/items/(\d+)", self.path)
        if not m:
            return self.answer(404, {"error": "not found"})
        with LOCK:
            gone = DB.execute("DELETE FROM products WHERE pid = ?", (int(m.group(1)),)).rowcount
        return self.answer(200, {"deleted": int(m.group(1))}) if gone else self.answer(404, {"error": "no such item"})

    def log_message(self, *args):
        pass


def main():
    global DB
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:0")
    p.add_argument("--db", required=True)
    a = p.parse_args()
    DB = Database(a.db)
    DB.create_table("products", "title TEXT NOT NULL, qty INTEGER NOT NULL DEFAULT 0,"
                                " price_cents INTEGER NOT NULL DEFAULT 0", key="pid")
    host, port = a.listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), Handler)
    print("listening on %s:%d" % server.server_address[:2], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
