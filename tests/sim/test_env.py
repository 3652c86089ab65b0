"""The batched MuJoCo environment: PD wiring, reset, step, termination, truncation, autoreset."""

from __future__ import annotations

import gymnasium
import mujoco
import numpy as np
import pytest

from sim.env import HumanoidAMPEnv, TaskConfig, heading_reward
from sim.humanoid import load_model
from sim.motion_lib import MotionLib
from sim.mujoco_backend import make_backend
from sim.observations import AMP_STEPS, STEP_FEATURE_DIM


@pytest.fixture(scope="module")
def humanoid():
    return load_model()


@pytest.fixture(scope="module")
def lib(humanoid):
    return MotionLib.from_names(["walk"], humanoid)


def _tracking_actions(humanoid, motion, frame):
    """Open-loop actions whose PD targets are the reference pose of ``frame``."""
    return (motion.qpos[frame, 7:] - humanoid.act_offset) / humanoid.act_scale


def test_pd_servos_replace_passive_springs(humanoid):
    m = humanoid.model
    assert np.all(m.jnt_stiffness == 0) and np.all(m.dof_damping == 0)
    names = [m.joint(j).name for j in range(1, m.njnt)]
    for a in range(m.nu):  # actuator a drives the hinge that target_to_ctrl puts at index a
        assert m.joint(int(m.actuator_trnid[a, 0])).name == names[humanoid.actuator_joint[a]]
    # a single servo pulls its joint towards the target
    d = mujoco.MjData(m)
    d.qpos[2] = 2.0
    mujoco.mj_forward(m, d)
    target = np.zeros(humanoid.num_joints)
    k = humanoid.joint_dofs["right_shin"][0]
    target[k] = 1.0
    d.ctrl[:] = humanoid.target_to_ctrl(target)
    for _ in range(60):
        mujoco.mj_step(m, d)
    assert d.qpos[7 + k] > 0.5
    assert humanoid.substeps == 6 and humanoid.control_dt == pytest.approx(6 * m.opt.timestep)


def test_reset_spaces_and_rsi_history(humanoid, lib):
    env = HumanoidAMPEnv(lib, num_envs=4, humanoid=humanoid, seed=0)
    assert isinstance(env, gymnasium.vector.VectorEnv)
    obs, info = env.reset(seed=3)
    assert obs.shape == (4, env.single_observation_space.shape[0]) == env.observation_space.shape
    assert env.action_space.shape == (4, 28) and env.amp_observation_space.shape == (
        AMP_STEPS * STEP_FEATURE_DIM,
    )
    assert np.isfinite(obs).all()
    feats = lib.motions[0].features
    for i in range(4):  # history = consecutive reference frames
        row = np.abs(feats - env.history[i, 0]).sum(1).argmin()
        assert np.allclose(env.history[i, 1], feats[row + 1], atol=1e-5)
    # the state we are in is the reference state of the last history row
    assert np.allclose(obs[:, :STEP_FEATURE_DIM], env.history[:, -1], atol=1e-4)
    env.close()


def test_step_amp_obs_and_fall_termination(humanoid, lib):
    env = HumanoidAMPEnv(lib, num_envs=3, humanoid=humanoid, seed=1, autoreset=False)
    env.reset()
    before = env.history[:, -1].copy()
    obs, rew, term, trunc, info = env.step(np.zeros((3, 28)))
    assert info["amp_obs"].shape == (3, AMP_STEPS * STEP_FEATURE_DIM)
    assert np.allclose(info["amp_obs"][:, :STEP_FEATURE_DIM], before)  # (s, s') pairs
    assert rew.shape == (3,) and np.all((rew > 0) & (rew <= 1))
    # lying on the floor: terminated at the first step, not truncated
    qpos = lib.motions[0].qpos[:3].copy()
    qpos[:, 2] = 0.12
    qpos[:, 3:7] = [np.cos(np.pi / 4), 0.0, np.sin(np.pi / 4), 0.0]  # pitched 90 degrees
    env.reset(options={"init": "state", "qpos": qpos, "qvel": np.zeros((3, 34))})
    _, _, term, trunc, _ = env.step(np.zeros((3, 28)))
    assert term.all() and not trunc.any()
    env.close()


def test_zero_actions_fall_but_reference_tracking_survives_a_while(humanoid, lib):
    m = lib.motions[0]
    env = HumanoidAMPEnv(lib, num_envs=1, humanoid=humanoid, autoreset=False, seed=0)
    env.reset(options={"init": "state", "qpos": m.qpos[:1], "qvel": m.qvel[:1]})
    for f in range(1, 10):
        _, _, term, _, _ = env.step(_tracking_actions(humanoid, m, f)[None])
        assert not term[0], f"open-loop tracking fell at step {f}"
    env.reset(options={"init": "state", "qpos": m.qpos[:1], "qvel": m.qvel[:1]})
    fell_at = None
    for t in range(90):
        _, _, term, _, _ = env.step(np.full((1, 28), 0.8))  # arbitrary rigid pose: falls over
        if term[0]:
            fell_at = t
            break
    assert fell_at is not None
    env.close()


def test_truncation_and_same_step_autoreset(humanoid, lib):
    m = lib.motions[0]
    env = HumanoidAMPEnv(lib, num_envs=2, humanoid=humanoid, episode_seconds=0.2, seed=0)
    env.reset(options={"init": "state", "qpos": m.qpos[:2], "qvel": m.qvel[:2]})
    assert env.max_steps == 6
    for f in range(1, 7):
        obs, _, term, trunc, info = env.step(np.stack([_tracking_actions(humanoid, m, f)] * 2))
    assert trunc.all() and not term.any()
    assert "final_obs" in info and info["episode_steps"].tolist() == [6, 6]
    assert env.steps.tolist() == [0, 0]  # reset inside the same step
    assert not np.allclose(info["final_obs"], obs)  # returned obs is the fresh reset state
    env.close()


def test_heading_reward_known_values():
    d = np.array([[1.0, 0.0], [0.0, 1.0]])
    s = np.array([1.5, 2.0])
    assert np.allclose(heading_reward(np.array([[1.5, 0.0], [0.0, 2.0]]), d, s), 1.0)
    assert np.allclose(
        heading_reward(np.array([[0.5, 0.0], [0.0, 0.0]]), d, s), np.exp([-0.5, -2.0])
    )


def test_commands_are_resampled_within_bounds(humanoid, lib):
    env = HumanoidAMPEnv(
        lib, num_envs=8, humanoid=humanoid, task=TaskConfig(speed_range=(1.0, 1.2)), seed=0
    )
    env.reset()
    assert np.all((env.target_speed >= 1.0) & (env.target_speed <= 1.2))
    assert np.allclose(np.linalg.norm(env.target_dir, axis=1), 1.0)
    env.set_command(np.pi / 2, 0.7)
    assert np.allclose(env.target_dir, [0.0, 1.0]) and np.allclose(env.target_speed, 0.7)
    env.close()


def test_two_workers_match_one(humanoid, lib):
    """Splitting the batch over threads must not change the physics."""
    rng = np.random.default_rng(0)
    mids, frames = lib.sample_frames(4, rng)
    qpos, qvel = lib.states(mids, frames)
    acts = rng.normal(0, 0.1, (5, 4, 28))
    out = []
    for workers in (1, 2):
        b = make_backend("mujoco", num_envs=4, workers=workers, humanoid=humanoid)
        b.set_state(np.arange(4), qpos, qvel)
        for a in acts:
            b.step(humanoid.target_to_ctrl(humanoid.action_to_target(a)))
        out.append(b.state().qpos)
        b.close()
    assert np.allclose(out[0], out[1])
    with pytest.raises(ValueError, match="unknown simulator backend"):
        make_backend("isaacgym")
