"""``python -m train.submission RUN_DIR --out FOLDER``: evaluate a trained run with the harness and
package it as a leaderboard submission (small files only, never weights).

::

    python -m train.submission runs/grpo/cpu-smollm2-js --out leaderboard/submissions/smollm2-grpo-js

Steps: run ``python -m m2m_bench.evaluate --model hf:RUN_DIR/final`` on the recipe's evaluation
split (greedy, 256 new tokens: the settings of the zero-shot baseline entry), then write to
``--out``:

* ``metadata.json``     the submission metadata (``m2m_bench.board`` format), method
  ``SFT+GRPO`` or ``GRPO``, the divergence, the scored dataset version and content hash;
* ``predictions.jsonl`` ``{"id", "output"}`` per test record, from the results file;
* ``results.json``      the harness results file (config, per-sample scores, summary);
* ``train/``            ``recipe.yaml``, ``run.json`` and ``log.jsonl`` of the GRPO run, and
  ``sft-log.jsonl`` / ``sft-results.json`` (the warm-started model, evaluated the same way)
  when the run started from an SFT warm start.

The folder is then checked with :func:`m2m_bench.board.validate_submission`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

import yaml

GEN_ARGS = ["--max-new-tokens", "256", "--temperature", "0", "--tasks", "action,skills,format"]


def weights_digest(folder: Path) -> str:
    """sha256 (first 16 hex digits) over the folder's safetensors files, in name order."""
    h = hashlib.sha256()
    for f in sorted(folder.glob("*.safetensors")):
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def evaluate(model_dir: Path, dataset: str, split: str, out_dir: Path, threads: int) -> dict:
    """One harness run on ``hf:model_dir``; returns the results dict."""
    from m2m_bench import evaluate as ev

    args = ev.build_parser().parse_args(
        ["--model", f"hf:{model_dir}", "--dataset", dataset, "--split", split, "--output-dir", str(out_dir),
         "--threads", str(threads), "--device", "cpu", *GEN_ARGS]  # fmt: skip
    )
    results, path = ev.run(args)
    print(f"[train.submission] {model_dir}: {path}", file=sys.stderr)
    return results


def package(run_dir: Path, out: Path, *, threads: int = 1, name: str | None = None) -> Path:
    run_dir, out = Path(run_dir), Path(out)
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    recipe = yaml.safe_load((run_dir / "recipe.yaml").read_text(encoding="utf-8"))
    ev_cfg = recipe.get("evaluation", {})
    dataset, split = ev_cfg.get("dataset", "m2m"), ev_cfg.get("split", "test")
    final = Path(run["model"]["final"])
    tmp = run_dir / "eval"
    results = evaluate(final, dataset, split, tmp, threads)

    out.mkdir(parents=True, exist_ok=True)
    (out / "train").mkdir(exist_ok=True)
    for f in ("recipe.yaml", "run.json", "log.jsonl"):
        shutil.copyfile(run_dir / f, out / "train" / f)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    with (out / "predictions.jsonl").open("w", encoding="utf-8") as fh:
        for s in results["samples"]:
            fh.write(json.dumps({"id": s["id"], "output": s["prediction"]}, ensure_ascii=False) + "\n")

    sft = recipe.get("sft", {}).get("enabled")
    resolved = Path(run["model"]["resolved"])
    if sft:
        sft_folder = resolved.parent
        if (sft_folder / "log.jsonl").is_file():
            shutil.copyfile(sft_folder / "log.jsonl", out / "train" / "sft-log.jsonl")
        sft_results = evaluate(resolved, dataset, split, sft_folder / "eval", threads)
        (out / "train" / "sft-results.json").write_text(json.dumps(sft_results, indent=1) + "\n", encoding="utf-8")

    div = run["divergence"]
    div_txt = "KL (TRL's k3 estimate)" if div == "kl" else f"Jensen-Shannon ({run.get('js_mode')} estimator)"
    td = run["train_data"]
    cfg = results["config"]
    meta = {
        "format_version": 1,
        "model_name": name or f"SmolLM2-135M-Instruct {'SFT+' if sft else ''}GRPO-{div.upper()}",
        "model_revision": f"weights-sha256:{weights_digest(final)}",
        "model_url": "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct",
        "parameters": int(run["parameters"]),
        "training_data": (
            f"SmolLM2 pre-training and instruction data; then {'one SFT epoch on the canonical answers and ' if sft else ''}"
            f"{run['global_step']} GRPO steps on {td.get('name')} {td.get('version')} train "
            f"(content hash {str(td.get('content_hash'))[:12]}) with the tripartite reward "
            f"(alpha, beta, gamma = {', '.join(str(w) for w in run['reward_weights'])})."
        ),
        "trained_on_m2m_train": True,
        "contact": "m2m-bench maintainers (issues of the m2m-bench repository)",
        "method": f"{'SFT+' if sft else ''}GRPO",
        "divergence": div,
        "dataset": {k: cfg["dataset"][k] for k in ("name", "version", "split", "content_hash")},
        "predictions": "predictions.jsonl",
        "notes": (
            f"Reference recipe `python -m train.grpo --recipe {run['recipe']} --divergence {div} "
            f"--max-steps {run['global_step']}` "
            f"(penalty: {div_txt}, beta {run['beta']}, seed {run['seed']}); canonical m2m-bench prompt, "
            "greedy decoding, at most 256 new tokens. Packaged by `python -m train.submission`; "
            "training config and logs in train/."
        ),
    }
    (out / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    from m2m_bench.board import validate_submission

    sub = validate_submission(str(out))
    print(f"[train.submission] valid submission {sub.submission_id}: {out}", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.submission", description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", type=Path, help="a finished train.grpo run folder (run.json, final/)")
    p.add_argument("--out", type=Path, required=True, help="submission folder to write")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--name", help="model_name shown on the board")
    args = p.parse_args(argv)
    if not (args.run_dir / "run.json").is_file():
        print(f"error: {args.run_dir}: no run.json (not a finished train.grpo run)", file=sys.stderr)
        return 2
    package(args.run_dir, args.out, threads=args.threads, name=args.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
