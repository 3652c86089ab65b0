"""Controller checkpoints: export/load roundtrip and refusal of unsafe or malformed files."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from sim.controller import FORMAT, CheckpointError, Controller, export_controller
from tests.sim._tiny import make_tiny_agent


@pytest.fixture(scope="module")
def agent_env():
    agent, env = make_tiny_agent(num_envs=2)
    yield agent, env
    env.close()


def test_roundtrip_matches_agent_mean_action(tmp_path, agent_env):
    agent, env = agent_env
    obs, _ = env.reset()
    with torch.no_grad():  # make the normalizer non-trivial
        agent._observation_preprocessor(torch.from_numpy(obs) * 3 + 1, train=True)
    path = export_controller(agent, tmp_path / "policy.pt", skill="walk", clips=["walk"], hidden=(8,),
                             task={"speed_range": (1.0, 2.0)})  # fmt: skip
    ctrl = Controller.load(path)
    with torch.no_grad():
        _, out = agent.policy.act(
            {"observations": agent._observation_preprocessor(torch.from_numpy(obs))}, role="policy"
        )
    assert np.allclose(ctrl.act(obs), out["mean_actions"].numpy(), atol=1e-5)
    assert ctrl.skill == "walk" and ctrl.task["speed_range"] == [1.0, 2.0]


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_refuses_unsafe_and_malformed_files(tmp_path):
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"format": FORMAT, "x": _Evil()}))
    with pytest.raises(CheckpointError, match="evil.pt"):
        Controller.load(evil)
    wrong = tmp_path / "wrong.pt"
    torch.save({"format": "other/1"}, wrong)
    with pytest.raises(CheckpointError, match="wrong.pt.*missing field"):
        Controller.load(wrong)
    torch.save(
        {
            "format": "other/1",
            "skill": "x",
            "hidden": [8],
            "obs_dim": 3,
            "act_dim": 2,
            "policy": {},
            "obs_norm": {},
        },
        wrong,
    )
    with pytest.raises(CheckpointError, match="field 'format'"):
        Controller.load(wrong)
    with pytest.raises(CheckpointError, match="no such"):
        Controller.load(tmp_path / "absent.pt")
