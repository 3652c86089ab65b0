"""Closed loop: conversation -> language model -> skills -> controllers -> physics -> GIF + metrics.

    python -m sim.run --text "It's starting to rain and the bus is leaving!" --model smollm2
    python -m sim.run --text "..." --skills "walk,run"      # bypass the language model

Steps: the model (any ``m2m_bench.models`` spec) answers the canonical prompt
(``m2m_bench.prompts.build_messages``); ``m2m_bench.response.parse_response`` extracts the action
and skills; :class:`sim.resolver.SkillResolver` maps every skill to a trained controller, a
reference clip only, or nothing; the controllers run one after the other in one MuJoCo
simulation (``--seconds`` each, walking along the character's heading at the controller's mean
commanded speed); the result is rendered to a GIF and the physical metrics of each segment are
written to JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

#: Record id of the one-record "split" a model answers; a ``predictions:FILE`` spec must use it.
SIM_RECORD_ID = "sim-run"


def _model_skills(text: str, spec: str, max_new_tokens: int) -> dict:
    from m2m_bench.models import load_model
    from m2m_bench.prompts import build_messages
    from m2m_bench.response import parse_response

    messages = build_messages(text)
    model = load_model(spec)
    try:
        raw = model.predict(
            [{"id": SIM_RECORD_ID, "conversation": text}], [messages], max_new_tokens=max_new_tokens
        )[0]
    finally:
        model.close()
    parsed = parse_response(raw)
    return {
        "model": spec,
        "raw_output": raw,
        "action": parsed.action,
        "skills": list(parsed.skills),
        "valid": parsed.valid,
        "errors": list(parsed.errors),
    }


def simulate_skills(resolutions, seconds: float, humanoid, seed: int = 0):
    """Run the controller of every resolved skill in sequence; returns (qpos frames, captions, segments)."""
    import numpy as np

    from .controller import Controller
    from .env import HumanoidAMPEnv
    from .metrics import Episode, episode_metrics
    from .motion_lib import MotionLib
    from .observations import local_body_positions
    from .rotations import heading_angle

    runnable = [r for r in resolutions if r.kind == "controller"]
    if not runnable:
        return [], [], []
    ctrls = {r.skill: Controller.load(r.controller) for r in runnable}
    lib = MotionLib.from_names(sorted({c for k in ctrls.values() for c in k.clips}), humanoid)
    by_name = {m.name: m for m in lib.motions}
    first = by_name[ctrls[runnable[0].skill].clips[0]]
    qpos0, qvel0 = first.qpos[:1].copy(), first.qvel[:1].copy()
    qpos0[:, 0:2] = 0.0
    env = HumanoidAMPEnv(
        lib, num_envs=1, humanoid=humanoid, autoreset=False, seed=seed, episode_seconds=1e9
    )
    obs, _ = env.reset(options={"init": "state", "qpos": qpos0, "qvel": qvel0})
    frames, captions, segments = [env.last_state.qpos[0].copy()], [runnable[0].skill], []
    fallen = False
    for r in runnable:
        if fallen:
            segments.append({"skill": r.skill, "skipped": "character had fallen"})
            continue
        ctrl = ctrls[r.skill]
        lo, hi = ctrl.task.get("speed_range", (1.0, 1.8))
        heading = float(heading_angle(env.last_state.qpos[0, 3:7]))
        env.set_command(heading, 0.5 * (lo + hi))
        obs = env._obs(env.last_state, env.history[:, -1])
        keys = ("qpos", "qvel", "body_pos", "floor_contact", "penetration")
        traj = {k: [getattr(env.last_state, k)[0]] for k in keys}  # start state first
        for _ in range(int(round(seconds / env.dt))):
            obs, _, term, _, info = env.step(ctrl.act(obs))
            st = info["state"]
            for k in traj:
                traj[k].append(getattr(st, k)[0])
            frames.append(st.qpos[0].copy())
            captions.append(f"{r.skill} ({r.phrase})")
            if term[0]:
                fallen = True
                break
        ep = Episode(**{k: np.stack(v) for k, v in traj.items()}, fell=fallen, dt=env.dt,
                     target_velocity=np.tile(env.target_speed[0] * env.target_dir[0], (len(traj["qpos"]), 1)))  # fmt: skip
        ref = by_name[ctrl.clips[0]]
        m = episode_metrics(ep, local_body_positions(ref.qpos, ref.body_pos))
        segments.append(
            {
                "skill": r.skill,
                "phrase": r.phrase,
                "commanded_speed_mps": float(env.target_speed[0]),
                **m,
            }
        )
    env.close()
    return frames, captions, segments


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sim.run", description=__doc__.splitlines()[0])
    p.add_argument("--text", required=True, help="the conversation / scene")
    p.add_argument(
        "--model",
        default="smollm2",
        help="model spec (m2m_bench.models), e.g. smollm2, hf:DIR, baseline:retrieval",
    )
    p.add_argument(
        "--skills", default=None, help="comma-separated skills; bypasses the language model"
    )
    p.add_argument("--seconds", type=float, default=4.0, help="simulated seconds per skill")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("runs/sim/closed_loop"),
        help="folder for metrics.json and the GIF",
    )
    p.add_argument("--gif", type=Path, default=None, help="GIF path (default OUT/closed_loop.gif)")
    p.add_argument("--no-render", action="store_true")
    p.add_argument("--threshold", type=float, default=None, help="resolver similarity threshold")
    p.add_argument(
        "--controller",
        action="append",
        default=[],
        metavar="SKILL=PATH",
        help="extra/override controller",
    )
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument(
        "--fps", type=float, default=15.0, help="GIF frame rate (simulation runs at 30 Hz)"
    )
    a = p.parse_args(argv)

    gl = None
    if not a.no_render:
        from .render import choose_gl_backend

        gl = choose_gl_backend()  # must precede the first `import mujoco`
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from .humanoid import load_model
    from .resolver import DEFAULT_THRESHOLD, SkillResolver, default_controllers

    if a.skills is not None:
        lm = {
            "model": None,
            "action": None,
            "skills": [s.strip() for s in a.skills.split(",") if s.strip()],
        }
    else:
        lm = _model_skills(a.text, a.model, a.max_new_tokens)
    controllers = default_controllers()
    for item in a.controller:
        skill, _, path = item.partition("=")
        if not path:
            p.error(f"--controller expects SKILL=PATH, got {item!r}")
        controllers[skill.strip()] = Path(path)
    if not lm["skills"]:
        errs = "; ".join(lm.get("errors", [])[:3])
        print(f"[sim.run] the model named no skills ({errs or 'empty answer'})", file=sys.stderr)
    resolver = SkillResolver(
        controllers=controllers,
        threshold=a.threshold if a.threshold is not None else DEFAULT_THRESHOLD,
    )
    resolutions = resolver.resolve_many(lm["skills"])
    humanoid = load_model()
    frames, captions, segments = simulate_skills(resolutions, a.seconds, humanoid)

    a.out.mkdir(parents=True, exist_ok=True)
    result = {
        "text": a.text,
        **lm,
        "resolutions": [r.to_json() for r in resolutions],
        "segments": segments,
    }
    for r in resolutions:
        if r.kind != "controller":
            why = (
                "no trained controller (reference clip only)"
                if r.kind == "clip"
                else "no matching skill"
            )
            print(
                f"[sim.run] {r.phrase!r}: {why}; best match {r.matched!r} score {r.score:.2f}",
                file=sys.stderr,
            )
    if frames and not a.no_render:
        from .render import render_qpos, write_gif

        step = max(1, round(1.0 / (humanoid.control_dt * a.fps)))
        imgs = render_qpos(humanoid, frames[::step], a.width, a.height, captions[::step])
        gif = write_gif(imgs, a.gif or a.out / "closed_loop.gif", fps=a.fps)
        result["gif"] = str(gif)
        result["gl_backend"] = gl
    (a.out / "metrics.json").write_text(json.dumps(result, indent=2))
    print(
        json.dumps(
            {k: result[k] for k in ("skills", "resolutions", "segments") if k in result}
            | {"gif": result.get("gif")},
            indent=2,
        )
    )
    return 0 if frames else 2


if __name__ == "__main__":
    raise SystemExit(main())
