"""A local stand-in for the WeCom and DingTalk robots: an http.server on 127.0.0.1 (free port) in a
thread that records what it is sent and answers as told."""

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RobotServer:
    def __init__(self):
        self.received: list[dict] = []
        self.status = 200
        self.answer: dict = {"errcode": 0, "errmsg": "ok"}
        self.delay = 0.0
        self.secret = ""  # when set, DingTalk's signature is checked
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                parts = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(parts.query)
                record = {
                    "path": parts.path,
                    "query": query,
                    "content_type": self.headers.get("Content-Type", ""),
                    "json": json.loads(raw.decode()),
                    "sign_ok": None,
                }
                if server.secret:
                    timestamp = query.get("timestamp", [""])[0]
                    digest = hmac.new(
                        server.secret.encode(), f"{timestamp}\n{server.secret}".encode(), hashlib.sha256
                    ).digest()
                    # parse_qs already URL-decoded the sign
                    record["sign_ok"] = (
                        query.get("sign", [""])[0] == base64.b64encode(digest).decode()
                        and abs(int(timestamp) - time.time() * 1000) < 3600 * 1000
                    )
                server.received.append(record)
                if server.delay:
                    time.sleep(server.delay)
                body = json.dumps(server.answer).encode()
                try:
                    self.send_response(server.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str = "/cgi-bin/webhook/send", query: str = "key=abc123") -> str:
        return f"http://127.0.0.1:{self.port}{path}?{query}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
