"""Trained controllers: export to / load from a small, pickle-free checkpoint.

A controller file (``policy.pt``) is a ``torch.save`` dict of plain tensors and JSON-like values,
read back with ``torch.load(weights_only=True)`` (no arbitrary pickle) and a size limit:

    {"format": "m2m-bench/amp-controller/1", "skill": str, "clips": [str], "hidden": [int],
     "obs_dim": int, "act_dim": int, "log_std": float, "task": {"speed_range": [lo, hi]},
     "policy": state_dict of sim.amp.Policy.net, "obs_norm": {"running_mean", "running_variance",
     "current_count"}}
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .amp import mlp

FORMAT = "m2m-bench/amp-controller/1"
MAX_CHECKPOINT_BYTES = 32 * 1024 * 1024
OBS_CLIP = 5.0  # skrl RunningStandardScaler clip_threshold


class CheckpointError(ValueError):
    pass


def export_controller(
    agent, path: str | Path, *, skill: str, clips: list[str], hidden, task: dict
) -> Path:
    policy = agent.policy
    norm = agent._observation_preprocessor
    blob = {
        "format": FORMAT,
        "skill": skill,
        "clips": list(clips),
        "hidden": [int(h) for h in hidden],
        "obs_dim": int(policy.num_observations),
        "act_dim": int(policy.num_actions),
        "log_std": float(policy.log_std_parameter.detach().mean()),
        "task": {
            k: [float(x) for x in v] if isinstance(v, (tuple, list)) else float(v)
            for k, v in task.items()
        },
        "policy": {k: v.detach().clone() for k, v in policy.net.state_dict().items()},
        "obs_norm": {k: v.detach().clone() for k, v in norm.state_dict().items()},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)
    return path


class Controller:
    """Deterministic (mean-action) policy for one skill."""

    def __init__(self, blob: dict, source: str = "<memory>"):
        for key in ("format", "skill", "hidden", "obs_dim", "act_dim", "policy", "obs_norm"):
            if key not in blob:
                raise CheckpointError(f"{source}: missing field {key!r}")
        if blob["format"] != FORMAT:
            raise CheckpointError(
                f"{source}: field 'format' is {blob['format']!r}, expected {FORMAT!r}"
            )
        self.skill = str(blob["skill"])
        self.clips = list(blob.get("clips", [self.skill]))
        self.task = dict(blob.get("task", {}))
        self.net = mlp(int(blob["obs_dim"]), tuple(blob["hidden"]), int(blob["act_dim"]))
        try:
            self.net.load_state_dict(blob["policy"])
        except RuntimeError as exc:
            raise CheckpointError(
                f"{source}: field 'policy' does not fit the declared network ({exc})"
            ) from exc
        norm = blob["obs_norm"]
        for key in ("running_mean", "running_variance"):
            if key not in norm or tuple(norm[key].shape) != (int(blob["obs_dim"]),):
                raise CheckpointError(f"{source}: field 'obs_norm.{key}' missing or of wrong shape")
        self.mean = norm["running_mean"].float()
        self.std = torch.sqrt(norm["running_variance"].float()) + 1e-8
        self.net.eval()

    @classmethod
    def load(cls, path: str | Path) -> Controller:
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"{path}: no such controller file")
        if path.stat().st_size > MAX_CHECKPOINT_BYTES:
            raise CheckpointError(f"{path}: larger than {MAX_CHECKPOINT_BYTES} bytes")
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unpickling refusal is a bad file
            raise CheckpointError(f"{path}: not a safe controller checkpoint ({exc})") from exc
        if not isinstance(blob, dict):
            raise CheckpointError(f"{path}: top level must be a dict")
        return cls(blob, source=str(path))

    @torch.no_grad()
    def act(self, obs: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(np.asarray(obs, dtype=np.float32))
        x = torch.clamp((x - self.mean) / self.std, -OBS_CLIP, OBS_CLIP)
        return self.net(x).numpy()
