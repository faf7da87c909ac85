"""A built site served on 127.0.0.1 by a small threaded HTTP server, for the browser."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SERVER_STOP_TIMEOUT_SECONDS = 10


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep the test output for failures
        pass


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve `directory` (it may still be empty) on 127.0.0.1 on a free port; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=SERVER_STOP_TIMEOUT_SECONDS)
