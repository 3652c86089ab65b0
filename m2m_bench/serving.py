"""A real local OpenAI-compatible server for a transformers model folder.

:func:`local_server` starts ``transformers serve MODEL_DIR --host 127.0.0.1 --port P`` as a
subprocess (its own process group), waits until ``/health`` answers and one tiny chat
request succeeds (so the model is loaded), yields the base URL and kills the server on exit.
The server is pinned to the folder: requests must name the model as :attr:`ServerURL.model`
(the folder's resolved path). Used by the tests and by anyone who wants ``openai:`` runs
without a separate terminal::

    with local_server(smollm2_dir()) as url:
        main(["--model", f"openai:{url.model}", "--base-url", url])
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import M2MError


class ServerURL(str):
    """The base URL (``http://127.0.0.1:P/v1``) with the served model's name and the log file."""

    model: str
    log_path: Path
    pid: int

    def __new__(cls, url: str, model: str, log_path: Path, pid: int) -> ServerURL:
        obj = super().__new__(cls, url)
        obj.model, obj.log_path, obj.pid = model, log_path, pid
        return obj


class ServerStartError(M2MError):
    """The local server exited or did not become ready in time."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _tail(path: Path, n: int = 3000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-n:]
    except OSError:
        return ""


def server_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The subprocess environment: offline, no update check, and ``$HF_HOME/hub`` existing
    (``/v1/models`` fails without it)."""
    env = dict(os.environ if base is None else base)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("HF_HUB_DISABLE_UPDATE_CHECK", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    hf_home = Path(env.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    (hf_home / "hub").mkdir(parents=True, exist_ok=True)
    env["HF_HOME"] = str(hf_home)
    return env


def http_status(url: str, timeout: float = 5.0) -> int | None:
    """The HTTP status of ``GET url``, or ``None`` when nothing answers (stdlib only)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def post_json(url: str, body: dict, timeout: float = 60.0) -> tuple[int, str]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return int(r.status), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return int(e.code), e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as e:
        return 0, str(e)


def _stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=grace)


@contextmanager
def local_server(
    model_dir: str | Path,
    port: int | None = None,
    *,
    host: str = "127.0.0.1",
    device: str = "cpu",
    startup_timeout: float = 300.0,
    extra_args: list[str] | None = None,
    keep_log: bool = False,
) -> Iterator[ServerURL]:
    """Run ``transformers serve`` on ``model_dir``; yield its base URL; kill it on exit.

    The server's output goes to a temporary log file, removed after a clean start and stop
    (kept with ``keep_log=True``, and always kept when the server fails to start: the error
    names it)."""
    folder = Path(model_dir).expanduser().resolve()
    if not (folder / "config.json").is_file():
        raise M2MError(f"{folder}: not a transformers model folder (no config.json there)")
    port = port or free_port(host)
    model = str(folder)
    cmd = [
        sys.executable, "-m", "transformers.cli.transformers", "serve", model,
        "--device", device, "--host", host, "--port", str(port), "--log-level", "warning",
        *(extra_args or []),
    ]  # fmt: skip
    log = Path(tempfile.mkstemp(prefix="m2m-serve-", suffix=".log")[1])
    with open(log, "wb") as log_f:
        proc = subprocess.Popen(
            cmd, stdout=log_f, stderr=subprocess.STDOUT, env=server_env(), start_new_session=True
        )
    base = f"http://{host}:{port}"
    started = False
    try:
        deadline = time.monotonic() + startup_timeout
        ready = False
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ServerStartError(
                    f"transformers serve {folder} exited with code {proc.returncode} before it was ready; "
                    f"log {log}:\n{_tail(log)}"
                )
            if http_status(base + "/health", timeout=5.0) == 200:
                ready = True
                break
            time.sleep(0.5)
        if not ready:
            raise ServerStartError(
                f"transformers serve {folder} did not answer on {base} within {startup_timeout:.0f} s; "
                f"log {log}:\n{_tail(log)}"
            )
        # One tiny request: the model is loaded before anyone times a real request.
        body = {"model": model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}
        status, text = post_json(
            base + "/v1/chat/completions", body, timeout=max(5.0, deadline - time.monotonic())
        )
        if status != 200:
            raise ServerStartError(f"{base}: warm-up request failed with HTTP {status}: {text[:500]}")
        started = True
        yield ServerURL(base + "/v1", model, log, proc.pid)
    finally:
        _stop(proc)
        if started and not keep_log:
            log.unlink(missing_ok=True)
