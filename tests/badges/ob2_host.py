"""A small HTTP server on 127.0.0.1 for tests: serves fixed responses, records requests.

`Host.route(path, ...)` registers a response; `Host.json(path, obj)` a JSON document. The
server runs in a thread for the duration of a `with` block (or the `host` fixture).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # seconds before answering
    drip: float = 0.0  # seconds between body bytes (a slow server)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class Host:
    def __init__(self) -> None:
        self.routes: dict[str, Route | Callable[[], Route]] = {}
        self.seen: list[Seen] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                host.seen.append(Seen(self.path, dict(self.headers.items())))
                route = host.routes.get(self.path.split("?", 1)[0])
                if callable(route):
                    route = route()
                route = route or Route(404, {"Content-Type": "text/plain"}, b"not found")
                time.sleep(route.delay)
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                try:
                    if route.drip:
                        for i in range(len(route.body)):
                            self.wfile.write(route.body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(route.drip)
                    else:
                        self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, route: Route | Callable[[], Route]) -> str:
        self.routes[path] = route
        return self.url(path)

    def json(self, path: str, data: Any, status: int = 200) -> str:
        body = json.dumps(data).encode()
        return self.route(path, Route(status, {"Content-Type": "application/ld+json"}, body))

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.route(path, Route(status, {"Location": location}))

    def hits(self, path: str) -> int:
        return sum(1 for s in self.seen if s.path.split("?", 1)[0] == path)

    def __enter__(self) -> Host:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
