"""``local_server``: a real ``transformers serve`` subprocess, ready when yielded, gone after."""

import json
import os

import pytest

from m2m_bench.errors import M2MError
from m2m_bench.serving import ServerStartError, http_status, local_server, post_json


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_not_a_model_folder(tmp_path):
    with pytest.raises(M2MError, match="not a transformers model folder"):
        with local_server(tmp_path):
            pass


@pytest.mark.slow
def test_a_server_that_cannot_load_the_model_is_reported_with_its_log(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "no-such-architecture"}))
    with pytest.raises(ServerStartError) as e:
        with local_server(tmp_path, startup_timeout=120):
            pass  # pragma: no cover
    msg = str(e.value)
    assert str(tmp_path) in msg and "log " in msg


@pytest.mark.slow
def test_shared_server_answers_chat_requests(smollm2_server):
    assert http_status(smollm2_server + "/models") == 200
    assert smollm2_server.startswith("http://127.0.0.1:") and smollm2_server.endswith("/v1")
    status, text = post_json(
        smollm2_server + "/chat/completions",
        {"model": smollm2_server.model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2},
    )
    assert status == 200 and json.loads(text)["choices"][0]["message"]["content"]
    status, _ = post_json(
        smollm2_server + "/chat/completions",
        {"model": "some-other-model", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2},
    )
    assert status >= 400  # the server is pinned to the folder


@pytest.mark.slow
def test_server_process_and_log_are_gone_after_exit(smollm2_folder):
    with local_server(smollm2_folder) as url:
        pid, log = url.pid, url.log_path
        assert alive(pid) and log.is_file()
    assert not alive(pid) and not log.exists()
    assert http_status(url + "/models", timeout=2) is None
