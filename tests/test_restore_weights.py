"""Weights registry: verified downloads from a fake server on localhost (cache,
resume, hash mismatch, offline), the bundled conversion, safe loading, CLI."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch

from talking_head.errors import WeightsError
from talking_head.restore import weights
from talking_head.restore.weights import WeightsEntry


@dataclass
class FakeServer:
    """Serves ``files`` (path -> bytes) with HTTP Range support.

    ``truncate`` makes the next that many responses send only half of their
    body and drop the connection; ``ranges`` False ignores Range headers.
    """

    files: dict[str, bytes] = field(default_factory=dict)
    truncate: int = 0
    ranges: bool = True
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def server():
    state = FakeServer()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def do_GET(self):
            range_header = self.headers.get("Range")
            state.requests.append((self.path, range_header))
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            start = 0
            if range_header and state.ranges:
                start = int(range_header.removeprefix("bytes=").rstrip("-"))
                if start >= len(body):
                    self.send_error(416)
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            payload = body[start:]
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if state.truncate:
                state.truncate -= 1
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(payload)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def payload(size: int = 300_000, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def entry_for(server: FakeServer, body: bytes, digest: str | None = None) -> WeightsEntry:
    server.files["/w/model.pth"] = body
    return WeightsEntry(
        name="test-model",
        file="model.pth",
        license="test",
        architecture="test",
        url=server.url("/w/model.pth"),
        sha256=digest or hashlib.sha256(body).hexdigest(),
    )


def test_download_verifies_and_caches(server, tmp_path):
    body = payload()
    entry = entry_for(server, body)
    path = weights.fetch(entry, tmp_path, progress=False)
    assert path == tmp_path / "model.pth" and path.read_bytes() == body
    assert not (tmp_path / "model.pth.part").exists()
    assert weights.fetch(entry, tmp_path, progress=False) == path
    assert len(server.requests) == 1  # the second fetch used the verified cache


def test_dropped_connection_is_resumed_with_range(server, tmp_path):
    body = payload()
    entry = entry_for(server, body)
    server.truncate = 1
    path = weights.fetch(entry, tmp_path, progress=False)
    assert path.read_bytes() == body
    assert server.requests == [("/w/model.pth", None), ("/w/model.pth", f"bytes={len(body) // 2}-")]


def test_partial_file_from_an_earlier_run_is_resumed(server, tmp_path):
    body = payload()
    entry = entry_for(server, body)
    (tmp_path / "model.pth.part").write_bytes(body[:1000])
    assert weights.fetch(entry, tmp_path, progress=False).read_bytes() == body
    assert server.requests == [("/w/model.pth", "bytes=1000-")]


def test_server_without_range_support_restarts(server, tmp_path):
    body = payload()
    entry = entry_for(server, body)
    server.ranges = False
    (tmp_path / "model.pth.part").write_bytes(b"x" * 1000)
    assert weights.fetch(entry, tmp_path, progress=False).read_bytes() == body


def test_corrupt_partial_file_is_downloaded_again(server, tmp_path):
    body = payload()
    entry = entry_for(server, body)
    (tmp_path / "model.pth.part").write_bytes(b"x" * 1000)  # resumable, but wrong bytes
    assert weights.fetch(entry, tmp_path, progress=False).read_bytes() == body
    assert server.requests == [("/w/model.pth", "bytes=1000-"), ("/w/model.pth", None)]


def test_corrupt_cached_file_is_downloaded_again(server, tmp_path):
    body = payload()
    entry = entry_for(server, body)
    (tmp_path / "model.pth").write_bytes(b"not the weights")
    with pytest.raises(WeightsError, match="has sha256 .* expected"):
        weights.fetch(entry, tmp_path, download=False)
    assert (tmp_path / "model.pth").read_bytes() == b"not the weights"  # kept while unreplaced
    assert weights.fetch(entry, tmp_path, progress=False).read_bytes() == body
    assert len(server.requests) == 1


def test_hash_mismatch_is_one_clear_line(server, tmp_path):
    entry = entry_for(server, payload(), digest="0" * 64)
    with pytest.raises(WeightsError) as info:
        weights.fetch(entry, tmp_path, progress=False)
    message = str(info.value)
    assert "\n" not in message and entry.url in message and str(tmp_path / "model.pth") in message
    assert list(tmp_path.iterdir()) == []  # nothing unverified is left behind


def test_offline_is_one_clear_line(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    entry = WeightsEntry("x", "x.pth", "test", "test", url=f"http://127.0.0.1:{port}/x.pth", sha256="0" * 64)
    with pytest.raises(WeightsError) as info:
        weights.fetch(entry, tmp_path, progress=False, timeout=5)
    message = str(info.value)
    assert "\n" not in message and entry.url in message and str(tmp_path / "x.pth") in message


def test_http_error_and_no_download(server, tmp_path):
    entry = WeightsEntry("x", "x.pth", "test", "test", url=server.url("/missing.pth"), sha256="0" * 64)
    with pytest.raises(WeightsError, match="HTTP 404"):
        weights.fetch(entry, tmp_path, progress=False)
    with pytest.raises(WeightsError, match="place it at"):
        weights.fetch(entry, tmp_path, download=False)


def test_weights_dir_override(monkeypatch, tmp_path):
    monkeypatch.setenv(weights.WEIGHTS_ENV, str(tmp_path))
    assert weights.cached_path(weights.GFPGAN_V14) == tmp_path / "GFPGANv1.4.pth"
    monkeypatch.delenv(weights.WEIGHTS_ENV)
    assert weights.weights_dir() == weights.DEFAULT_DIR
    assert weights.weights_dir(tmp_path / "a") == tmp_path / "a"


def test_registry_entries_are_complete():
    for entry in weights.REGISTRY:
        assert entry.name and entry.file and entry.license and entry.architecture
        assert entry.sha256 and len(entry.sha256) == 64
        assert (entry.url is None) != (entry.bundled is None)
    assert weights.get_entry("gfpgan-v1.4").url.endswith("/v1.3.0/GFPGANv1.4.pth")
    with pytest.raises(WeightsError, match="known: gfpgan-v1.4"):
        weights.get_entry("nope")


class NotATensor:
    pass


def test_loading_never_unpickles_code(tmp_path):
    good, bad = tmp_path / "good.pth", tmp_path / "bad.pth"
    torch.save({"params_ema": {"w": torch.ones(2)}}, good)
    torch.save({"w": NotATensor()}, bad)
    assert torch.equal(weights.load_state_dict(good)["params_ema"]["w"], torch.ones(2))
    with pytest.raises(WeightsError, match="cannot be read as weights"):
        weights.load_state_dict(bad)


def test_bundled_realesrgan_is_converted_once(tmp_path):
    path = weights.fetch(weights.REALESRGAN_X4PLUS, tmp_path)
    state = weights.load_state_dict(path)
    assert len(state) == 2 * 351 and state["conv_first.weight"].shape == (64, 3, 3, 3)
    assert state["body.22.rdb3.conv5.weight"].shape == (64, 64 + 4 * 32, 3, 3)
    assert weights.state_digest(state) == weights.REALESRGAN_X4PLUS.converted_sha256
    mtime = path.stat().st_mtime_ns
    assert weights.fetch(weights.REALESRGAN_X4PLUS, tmp_path) == path and path.stat().st_mtime_ns == mtime


def test_a_tampered_conversion_is_converted_again(tmp_path):
    """The converted file is verified like a download: other tensors are replaced by a fresh conversion."""
    from safetensors.torch import save_file

    path = weights.fetch(weights.REALESRGAN_X4PLUS, tmp_path)
    state = weights.load_state_dict(path)
    state["conv_first.weight"] = state["conv_first.weight"] + 0.01  # a changed (or corrupted) copy
    save_file(state, str(path))
    fetched = weights.fetch(weights.REALESRGAN_X4PLUS, tmp_path)
    assert weights.state_digest(weights.load_state_dict(fetched)) == weights.REALESRGAN_X4PLUS.converted_sha256


def test_cli_list_and_fetch(tmp_path, capsys):
    assert weights.weights_main(["--dir", str(tmp_path), "list"]) == 0
    listing = capsys.readouterr().out
    assert "gfpgan-v1.4" in listing and "not cached" in listing and "BSD-3-Clause" in listing
    assert weights.weights_main(["--dir", str(tmp_path), "fetch", "realesrgan-x4plus", "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "realesrgan-x4plus.safetensors")
    with pytest.raises(SystemExit):
        weights.weights_main(["fetch", "nope"])
