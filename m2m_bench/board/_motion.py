"""Optional motion results: simulated episodes, re-scored with the physical metrics of ``sim.metrics``.

A submission may add the raw rollouts of its motion controller as a NumPy ``.npz`` archive
(read with ``allow_pickle=False``; no object arrays). Keys, for episodes ``i = 0..N-1``::

    dt                     scalar, control step in seconds, 0 < dt <= 1
    ep{i}_qpos             (T, 35) float   generalized positions (free root + 28 hinges)
    ep{i}_qvel             (T, 34) float   generalized velocities
    ep{i}_body_pos         (T, 15, 3) float world positions of the 15 bodies
    ep{i}_floor_contact    (T, 15) bool    body-floor contact
    ep{i}_penetration      (T,) float      deepest body-floor penetration (m, >= 0)
    ep{i}_fell             scalar bool     whether a fall ended the episode
    ep{i}_target_velocity  (T, 2) float    optional: commanded planar velocity

The board never reads a number from this file: survival/fall rate, survival time, command
tracking error, foot sliding, ground penetration and jerk are computed from these arrays by
``sim.metrics`` (the one definition of each). Pose error needs the reference clip and is not
computed for submissions. The arrays themselves come from the submitter's simulator; the board
only guarantees that everybody's numbers are computed the same way from them.

A controller without language predictions is a **motion-only submission**: ``metadata.json``
with ``"predictions": null``, no ``dataset``, and ``"motion": "motion.npz"``; it is ranked in
its own table. :func:`write_motion_npz` writes the file from ``sim`` episodes, e.g. those of
``sim.evaluate.rollout``. The controller's weights may sit in the same folder: the board never
loads them (a ``.pt`` file is a pickle).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import SubmissionError
from ._files import Limits
from ._store import ScoreRow

TASK = "motion"
MAX_EPISODES = 4096
MAX_STEPS = 100_000
_KEY = re.compile(
    r"^ep(0|[1-9]\d{0,4})_(qpos|qvel|body_pos|floor_contact|penetration|fell|target_velocity)$"
)
_SHAPES = {
    "qpos": (None, 35),
    "qvel": (None, 34),
    "body_pos": (None, 15, 3),
    "floor_contact": (None, 15),
    "penetration": (None,),
    "fell": (),
    "target_velocity": (None, 2),
}
_REQUIRED = ("qpos", "qvel", "body_pos", "floor_contact", "penetration", "fell")


def _metrics_module():
    try:
        from sim import metrics  # the simulator package of the m2m-bench repository
    except ImportError as e:
        raise SubmissionError(
            f"motion results are re-scored with the `sim` package of the m2m-bench repository, "
            f"which cannot be imported here ({e}); run from a checkout with the [sim] extra"
        ) from None
    return metrics


def metrics_version() -> str:
    """The version of the physical metrics (``sim.metrics.METRICS_VERSION``, ``"1"`` until it has one)."""
    return str(getattr(_metrics_module(), "METRICS_VERSION", "1"))


def validate_motion(data: bytes, where: str, limits: Limits) -> dict[str, Any]:
    """Check a motion ``.npz`` (format in the module docstring); returns ``{"dt", "episodes"}``."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > 7 * MAX_EPISODES + 1:
                raise SubmissionError(
                    f"{where}: {len(infos)} arrays; at most {MAX_EPISODES} episodes"
                )
            declared = sum(i.file_size for i in infos)
            if declared > limits.max_total_bytes:
                raise SubmissionError(
                    f"{where}: arrays of {declared} bytes uncompressed exceed the {limits.max_total_bytes}-byte limit"
                )
    except zipfile.BadZipFile:
        raise SubmissionError(f"{where}: not a NumPy .npz archive") from None
    try:
        npz = np.load(io.BytesIO(data), allow_pickle=False)
        arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise SubmissionError(
            f"{where}: cannot read the arrays ({e}); object arrays are not accepted"
        ) from None
    if "dt" not in arrays:
        raise SubmissionError(f"{where}: array 'dt' (the control step in seconds) is missing")
    dt_arr = arrays.pop("dt")
    if (
        dt_arr.shape != ()
        or dt_arr.dtype.kind not in "fiu"
        or not np.isfinite(dt_arr)
        or not 0 < float(dt_arr) <= 1
    ):
        raise SubmissionError(
            f"{where}: array 'dt' must be one finite number in (0, 1], got {dt_arr!r:.60}"
        )
    episodes: dict[int, dict[str, np.ndarray]] = {}
    for key, arr in arrays.items():
        m = _KEY.match(key)
        if not m:
            raise SubmissionError(
                f"{where}: unexpected array {key!r} (expected dt and ep<i>_<field>)"
            )
        episodes.setdefault(int(m.group(1)), {})[m.group(2)] = arr
    if not episodes:
        raise SubmissionError(f"{where}: no episodes")
    if sorted(episodes) != list(range(len(episodes))) or len(episodes) > MAX_EPISODES:
        raise SubmissionError(f"{where}: episodes must be numbered 0..N-1 with N <= {MAX_EPISODES}")
    for i, ep in sorted(episodes.items()):
        for f in _REQUIRED:
            if f not in ep:
                raise SubmissionError(f"{where}: episode {i}: array 'ep{i}_{f}' is missing")
        steps = len(ep["qpos"]) if ep["qpos"].ndim else 0
        if not 1 <= steps <= MAX_STEPS:
            raise SubmissionError(f"{where}: episode {i}: {steps} steps; expected 1 to {MAX_STEPS}")
        for f, arr in ep.items():
            shape = tuple(steps if s is None else s for s in _SHAPES[f])
            if arr.shape != shape:
                raise SubmissionError(
                    f"{where}: episode {i}: 'ep{i}_{f}' has shape {arr.shape}, expected {shape}"
                )
            if f in ("floor_contact", "fell"):
                if arr.dtype != np.bool_:
                    raise SubmissionError(
                        f"{where}: episode {i}: 'ep{i}_{f}' must be bool, got {arr.dtype}"
                    )
            elif arr.dtype.kind not in "fiu":
                raise SubmissionError(
                    f"{where}: episode {i}: 'ep{i}_{f}' must be numeric, got {arr.dtype}"
                )
            elif not np.isfinite(arr).all():
                raise SubmissionError(
                    f"{where}: episode {i}: 'ep{i}_{f}' holds NaN or infinite values"
                )
        if (ep["penetration"] < 0).any():
            raise SubmissionError(
                f"{where}: episode {i}: 'ep{i}_penetration' is a depth and must be >= 0"
            )
    return {"dt": float(dt_arr), "episodes": [episodes[i] for i in range(len(episodes))]}


def write_motion_npz(episodes: list[Any], path: str | Path) -> Path:
    """Write episodes (``sim.metrics.Episode`` or objects with the same fields) as a submission's
    motion ``.npz`` (format in the module docstring); all episodes must share one ``dt``."""
    if not episodes:
        raise ValueError("no episodes to write")
    dts = {float(e.dt) for e in episodes}
    if len(dts) != 1:
        raise ValueError(f"episodes have different control steps: {sorted(dts)}")
    arrays: dict[str, np.ndarray] = {"dt": np.array(dts.pop())}
    for i, e in enumerate(episodes):
        for f in _REQUIRED:
            arr = np.asarray(getattr(e, f))
            arrays[f"ep{i}_{f}"] = arr.astype(bool) if f in ("floor_contact", "fell") else arr
        if getattr(e, "target_velocity", None) is not None:
            arrays[f"ep{i}_target_velocity"] = np.asarray(e.target_velocity)
    path = Path(path)
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)
    return path


def score_motion(motion: dict[str, Any]) -> tuple[list[ScoreRow], dict[str, Any]]:
    """Physical metrics of validated episodes via ``sim.metrics``: (rows, summary for results JSON)."""
    metrics = _metrics_module()
    version = metrics_version()
    per_episode = []
    for ep in motion["episodes"]:
        e = metrics.Episode(
            qpos=ep["qpos"].astype(np.float64), qvel=ep["qvel"].astype(np.float64),
            body_pos=ep["body_pos"].astype(np.float64), floor_contact=ep["floor_contact"],
            penetration=ep["penetration"].astype(np.float64), fell=bool(ep["fell"]), dt=motion["dt"],
            target_velocity=ep["target_velocity"].astype(np.float64) if "target_velocity" in ep else None,
        )  # fmt: skip
        per_episode.append(metrics.episode_metrics(e))
    summary = metrics.summarize(per_episode)
    rows = [
        ScoreRow(TASK, f"{TASK}.{k}", version, float(summary[k]))
        for k in metrics.METRIC_KEYS
        if k in summary
    ]
    return rows, {"episodes": int(summary["episodes"]), "metric_versions": {r.metric: version for r in rows},
                  "metrics": {r.metric: r.value for r in rows}}  # fmt: skip
