#!/usr/bin/env python3
"""A small HTTP app standing in for "your monolith" in docs/migrate-your-app.md.

JSON over HTTP like most apps, and like most apps it has no health endpoint, no change feed, and a
volatile field in every answer (served_at). Started twice, it also stands in for the service
extracted from it: the same answers from another process.

    inventory_app.py [--listen 127.0.0.1:0] [--name NAME]

Prints "listening on HOST:PORT" once bound, as Banyan's servers do. Standard library only.
"""
import argparse
import datetime
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ITEMS = {i: {"id": i, "name": "Item %d" % i, "stock": (i * 7) % 50, "price_cents": 100 * i + 99} for i in range(1, 41)}
LOCK = threading.Lock()


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

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/api/items":
            with LOCK:
                return self.answer(200, {"items": list(ITEMS.values())})
        m = re.fullmatch(r"/api/items/(\d+)", path)
        if m:
            with LOCK:
                item = ITEMS.get(int(m.group(1)))
            return self.answer(200, item) if item else self.answer(404, {"error": "no such item"})
        if path == "/api/report":
            with LOCK:
                return self.answer(200, {"items": len(ITEMS), "stock": sum(i["stock"] for i in ITEMS.values())})
        return self.answer(404, {"error": "not found"})

    do_HEAD = do_GET

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/api/items" or "name" not in body:
            return self.answer(400, {"error": "POST /api/items with a name"})
        with LOCK:
            item = {"id": max(ITEMS) + 1, "name": body["name"], "stock": 0, "price_cents": int(body.get("price_cents", 0))}
            ITEMS[item["id"]] = item
        return self.answer(201, item)

    def log_message(self, *args):
        pass


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:0")
    p.add_argument("--name", default="monolith")
    a = p.parse_args()
    host, port = a.listen.rsplit(":", 1)
    Handler.server_name = a.name
    server = ThreadingHTTPServer((host, int(port)), Handler)
    print("listening on %s:%d" % server.server_address[:2], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
