"""Offscreen rendering of simulated trajectories to GIF (MuJoCo Renderer; EGL or OSMesa on CPU).

MuJoCo picks its OpenGL backend from ``MUJOCO_GL`` when ``mujoco`` is first imported, so
:func:`choose_gl_backend` must run before that import (``sim.run`` does it first thing). It
keeps a user's ``MUJOCO_GL``; otherwise it probes EGL in a subprocess and falls back to OSMesa.
Debian packages: ``libegl1 libgl1`` (EGL, Mesa software rendering) or ``libosmesa6`` (OSMesa).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

_PROBE = "import mujoco; r = mujoco.Renderer(mujoco.MjModel.from_xml_string('<mujoco/>'), 8, 8); r.render(); r.close()"


def choose_gl_backend() -> str:
    if os.environ.get("MUJOCO_GL"):
        return os.environ["MUJOCO_GL"]
    for backend in ("egl", "osmesa"):
        env = {**os.environ, "MUJOCO_GL": backend, "PYOPENGL_PLATFORM": backend}
        ok = (
            subprocess.run(
                [sys.executable, "-c", _PROBE], env=env, capture_output=True, timeout=60
            ).returncode
            == 0
        )
        if ok:
            os.environ["MUJOCO_GL"] = backend
            os.environ["PYOPENGL_PLATFORM"] = backend
            return backend
    raise RuntimeError(
        "no offscreen OpenGL backend works: install Debian 'libegl1 libgl1' (MUJOCO_GL=egl) "
        "or 'libosmesa6' (MUJOCO_GL=osmesa)"
    )


def render_qpos(
    humanoid, qpos_seq: np.ndarray, width: int = 320, height: int = 240, captions=None
) -> list[np.ndarray]:
    """Render one RGB frame per qpos row with a camera tracking the pelvis."""
    import mujoco

    model = humanoid.model
    model.vis.headlight.ambient[:] = (0.45, 0.45, 0.45)  # visual only; physics is unaffected
    model.vis.headlight.diffuse[:] = (0.6, 0.6, 0.6)
    data = mujoco.MjData(model)
    renderer = mujoco.Renderer(model, height=height, width=width)
    cam = mujoco.MjvCamera()
    cam.type = mujoco.mjtCamera.mjCAMERA_TRACKING
    cam.trackbodyid = int(humanoid.body_ids[0])
    cam.distance, cam.elevation, cam.azimuth = 4.0, -15.0, 110.0
    frames = []
    try:
        for i, q in enumerate(qpos_seq):
            data.qpos[:] = q
            mujoco.mj_forward(model, data)
            renderer.update_scene(data, camera=cam)
            img = renderer.render().copy()
            if captions is not None and captions[i]:
                img = _caption(img, captions[i])
            frames.append(img)
    finally:
        renderer.close()
    return frames


def _caption(img: np.ndarray, text: str) -> np.ndarray:
    from PIL import Image, ImageDraw

    im = Image.fromarray(img)
    draw = ImageDraw.Draw(im)
    draw.rectangle([0, 0, im.width, 16], fill=(0, 0, 0))
    draw.text((4, 2), text[:60], fill=(255, 255, 255))
    return np.asarray(im)


def write_gif(
    frames: list[np.ndarray],
    path: str | Path,
    fps: float = 15.0,
    colors: int = 64,
    max_bytes: int = 2 * 1024 * 1024,
) -> Path:
    """Palette GIF (shared adaptive palette, looping) via Pillow; halves the frame rate until the
    file fits in ``max_bytes``."""
    from PIL import Image

    if not frames:
        raise ValueError("no frames to write")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        first = Image.fromarray(frames[0]).quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
        rest = [
            Image.fromarray(f).quantize(palette=first, dither=Image.Dither.NONE) for f in frames[1:]
        ]
        first.save(
            path, save_all=True, append_images=rest, duration=int(1000 / fps), loop=0, optimize=True
        )
        if path.stat().st_size <= max_bytes or len(frames) < 4:
            return path
        frames, fps = frames[::2], fps / 2
