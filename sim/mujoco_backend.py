"""MuJoCo CPU backend: one ``MjData`` per environment, optionally split over worker threads.

``mujoco.mj_step`` releases the GIL, so ``workers=2`` runs two slices of the batch in parallel.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import mujoco
import numpy as np

from .backend import Backend, SimState
from .humanoid import Humanoid, load_model


class MuJoCoCPUBackend(Backend):
    def __init__(self, num_envs: int, humanoid: Humanoid | None = None, workers: int = 1):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self.humanoid = humanoid or load_model()
        self.model = self.humanoid.model
        self.num_envs = num_envs
        self.datas = [mujoco.MjData(self.model) for _ in range(num_envs)]
        self.workers = max(1, min(workers, num_envs))
        self._pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None
        self._slices = np.array_split(np.arange(num_envs), self.workers)
        nb = len(self.humanoid.body_ids)
        self._geom_body = (self.model.geom_bodyid - 1).tolist()  # skeleton index (world -> -1)
        self._qpos = np.zeros((num_envs, self.model.nq))
        self._qvel = np.zeros((num_envs, self.model.nv))
        self._body_pos = np.zeros((num_envs, nb, 3))
        self._contact = np.zeros((num_envs, nb), dtype=bool)
        self._pen = np.zeros(num_envs)
        # numpy views into each MjData stay valid for its lifetime; caching them saves wrappers
        self._views = [(d.qpos, d.qvel, d.xpos, d.ctrl) for d in self.datas]
        for d in self.datas:
            mujoco.mj_forward(self.model, d)
        self._gather(np.arange(num_envs))

    def _gather(self, ids) -> None:
        floor, bids, gb = self.humanoid.floor_geom, self.humanoid.body_ids, self._geom_body
        qpos, qvel, bpos, contact, pen = (
            self._qpos,
            self._qvel,
            self._body_pos,
            self._contact,
            self._pen,
        )
        views, datas = self._views, self.datas
        for i in ids:
            d = datas[i]
            dq, dv, dx, _ = views[i]
            qpos[i] = dq
            qvel[i] = dv
            bpos[i] = dx[bids]
            contact[i] = False
            pen[i] = 0.0
            if d.ncon:  # a short Python loop beats numpy on a handful of contacts
                con = d.contact
                crow, deepest = contact[i], 0.0
                for (g0, g1), dist in zip(con.geom.tolist(), con.dist.tolist(), strict=True):
                    if g0 == floor:
                        b = gb[g1]
                    elif g1 == floor:
                        b = gb[g0]
                    else:
                        continue
                    if b >= 0:
                        crow[b] = True
                    if -dist > deepest:
                        deepest = -dist
                pen[i] = deepest

    def _step_slice(self, ids, ctrl) -> None:
        m, ns = self.model, self.humanoid.substeps
        views, datas, step = self._views, self.datas, mujoco.mj_step
        for i in ids:
            views[i][3][:] = ctrl[i]
            step(m, datas[i], nstep=ns)
        self._gather(ids)

    def step(self, ctrl: np.ndarray) -> None:
        if self._pool is None:
            self._step_slice(self._slices[0], ctrl)
        else:
            list(self._pool.map(lambda s: self._step_slice(s, ctrl), self._slices))

    def set_state(self, env_ids, qpos, qvel) -> None:
        for k, i in enumerate(np.asarray(env_ids)):
            d = self.datas[i]
            mujoco.mj_resetData(self.model, d)
            d.qpos[:] = qpos[k]
            d.qvel[:] = qvel[k]
            mujoco.mj_forward(self.model, d)
        self._gather(np.asarray(env_ids))

    def state(self) -> SimState:
        return SimState(
            qpos=self._qpos.copy(),
            qvel=self._qvel.copy(),
            body_pos=self._body_pos.copy(),
            floor_contact=self._contact.copy(),
            penetration=self._pen.copy(),
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


def make_backend(
    name: str = "mujoco", num_envs: int = 1, workers: int = 1, humanoid=None
) -> Backend:
    """Factory used by the env and the CLIs; add new backends here."""
    if name in ("mujoco", "mujoco-cpu"):
        return MuJoCoCPUBackend(num_envs, humanoid=humanoid, workers=workers)
    raise ValueError(f"unknown simulator backend {name!r}; available: 'mujoco'")
