"""A local S3 for the tests that read talos-backup's bucket: moto's server on 127.0.0.1 (never another
address), and S3 credentials that only the test sets (none of the machine's profiles or files), made-up
values a test can look for in what must never show them."""

from __future__ import annotations

from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

ACCESS_KEY_ID = "AKIAZ3MOCKKEYIDTEST1"
SECRET_ACCESS_KEY = "c2VjcmV0LWtleS10aGF0LW11c3Qtbm90LWxlYWs0MjQy"


@pytest.fixture(scope="module")
def server():
    running = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    running.start()
    host, port = running.get_host_and_port()
    yield f"http://{host}:{port}"
    running.stop()


@pytest.fixture
def credentials(monkeypatch, tmp_path: Path):
    # only what the test sets: no profile or credentials file of the machine running it (subprocesses inherit them)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
