"""A throw-away conda channel on 127.0.0.1 that records every User-Agent.

It serves one empty ``noarch`` package, ``aau-probe``, so that ``conda
create``/``install`` really download something, and empty repodata for every
other subdir. Repodata is sent with ``no-store`` so every conda run asks again.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PACKAGE = "aau-probe"
FILENAME = f"{PACKAGE}-1.0-0.tar.bz2"


INDEX = {
    "name": PACKAGE,
    "version": "1.0",
    "build": "0",
    "build_number": 0,
    "depends": [],
    "license": "BSD-3-Clause",
    "noarch": "generic",
    "subdir": "noarch",
    "timestamp": 1700000000000,
}


def _package_bytes() -> bytes:
    members = {
        "info/index.json": json.dumps(INDEX).encode(),
        "info/paths.json": json.dumps({"paths": [], "paths_version": 1}).encode(),
        "info/files": b"",
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:bz2") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1700000000
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass(frozen=True)
class Request:
    path: str
    user_agent: str


class FakeChannel:
    def __init__(self) -> None:
        self.package = _package_bytes()
        self.requests: list[Request] = []
        self.posts: list[bytes] = []
        self._lock = threading.Lock()
        channel = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with channel._lock:
                    channel.requests.append(
                        Request(self.path, self.headers.get("User-Agent", ""))
                    )
                status, body, kind = channel.respond(self.path)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_POST(self) -> None:
                """Records what is posted (conda's error-report upload)."""
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with channel._lock:
                    channel.requests.append(
                        Request(self.path, self.headers.get("User-Agent", ""))
                    )
                    channel.posts.append(body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/probe"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def repodata(self, subdir: str) -> bytes:
        packages = {}
        if subdir == "noarch":
            packages[FILENAME] = {
                **INDEX,
                "md5": hashlib.md5(self.package).hexdigest(),
                "sha256": hashlib.sha256(self.package).hexdigest(),
                "size": len(self.package),
            }
        return json.dumps(
            {
                "info": {"subdir": subdir},
                "packages": packages,
                "packages.conda": {},
                "repodata_version": 1,
            }
        ).encode()

    def respond(self, path: str) -> tuple[int, bytes, str]:
        parts = path.split("?")[0].strip("/").split("/")
        if len(parts) == 3 and parts[0] == "probe":
            subdir, name = parts[1], parts[2]
            if name == "repodata.json":
                return 200, self.repodata(subdir), "application/json"
            if subdir == "noarch" and name == FILENAME:
                return 200, self.package, "application/octet-stream"
        return 404, b"not found", "text/plain"

    def user_agents(self) -> list[str]:
        with self._lock:
            return [request.user_agent for request in self.requests]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.posts.clear()

    def __enter__(self) -> FakeChannel:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
