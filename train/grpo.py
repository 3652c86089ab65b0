"""``python -m train.grpo --recipe NAME``: run a GRPO recipe (optional SFT warm start, then GRPO).

::

    python -m train.grpo --recipe cpu-smollm2 --divergence js [--js-mode sampled|full]
                         [--max-steps N] [--output-dir DIR] [--set grpo.beta=0.1 ...]
                         [--smoke] [--no-resume]

A recipe is ``train/recipes/NAME.yaml`` (or a path to a YAML file); its keys are checked
against :data:`RECIPE_SCHEMA`, and ``--set dotted.key=value`` overrides any of them (the value
is read as YAML). The run folder (default ``runs/grpo/<recipe>-<divergence>``) receives:

* ``recipe.yaml``   the resolved recipe (after overrides), and ``run.json`` (seeds, versions,
  dataset content hash, model, timings, a summary of the logged rewards);
* ``log.jsonl``     one line per logged step: loss, reward, ``rewards/r_action|r_skill|r_format``,
  ``kl``, ``js``, ``penalty``, step time ... (progress also shows as a progress bar);
* ``checkpoint-*``  TRL checkpoints; a new run in the same folder resumes from the last one
  (``--no-resume`` refuses to reuse a folder that has checkpoints);
* ``final/``        the trained model and tokenizer (``hf:<folder>/final`` for the harness);
* ``sft/final/``    the warm-started model when ``sft.enabled`` (reused when present).

``--smoke`` replaces the model by a tiny random model of the recipe's ``model.architecture``
(:mod:`train.tiny`) and shrinks batch, lengths and steps, so any recipe -- the GPU one
included -- runs end to end in seconds on a CPU.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
REPO = Path(__file__).resolve().parents[1]

#: Allowed recipe keys: nested dicts are sections; ``None`` marks a free-form mapping
#: (passed to TRL's config, which checks its own field names).
RECIPE_SCHEMA: dict[str, Any] = {
    "description": str,
    "model": {"path": str, "architecture": str, "dtype": str},
    "threads": int,
    "divergence": str,
    "js_mode": str,
    "data": {"kind": str, "dataset": str, "version": str, "split": str, "max_records": int},
    "reward": {"kind": str, "alpha": float, "beta": float, "gamma": float, "encoder": str},
    "sft": {"enabled": bool, "epochs": float, "learning_rate": float, "per_device_train_batch_size": int,
            "output_dir": str},
    "grpo": None,
    "evaluation": {"dataset": str, "split": str},
}

#: What ``--smoke`` changes in ``grpo``.
SMOKE_GRPO = {
    "max_steps": 1,
    "per_device_train_batch_size": 4,
    "num_generations": 2,
    "gradient_accumulation_steps": 1,
    "max_completion_length": 12,
    "logging_steps": 1,
    "save_steps": 1,
    "warmup_steps": 0,
    "lr_scheduler_type": "constant",
    "num_train_epochs": 1,
}


class RecipeError(ValueError):
    """A recipe file or override that does not follow :data:`RECIPE_SCHEMA`."""


# --------------------------------------------------------------------------- recipes


def recipe_path(name: str) -> Path:
    p = Path(name)
    if p.suffix in (".yaml", ".yml") and p.is_file():
        return p
    cand = RECIPES_DIR / f"{name}.yaml"
    if cand.is_file():
        return cand
    known = ", ".join(sorted(x.stem for x in RECIPES_DIR.glob("*.yaml")))
    raise RecipeError(f"unknown recipe {name!r}: not a YAML file, and not one of: {known}")


def _check(section: dict, schema: dict, where: str) -> None:
    for key, value in section.items():
        if key not in schema:
            raise RecipeError(f"{where}: unknown key {key!r}; allowed: {', '.join(schema)}")
        rule = schema[key]
        if isinstance(rule, dict):
            if not isinstance(value, dict):
                raise RecipeError(f"{where}.{key}: must be a mapping, got {type(value).__name__}")
            _check(value, rule, f"{where}.{key}")
        elif rule is None:
            if not isinstance(value, dict):
                raise RecipeError(f"{where}.{key}: must be a mapping, got {type(value).__name__}")
        elif value is not None:
            ok = isinstance(value, rule) or (rule is float and isinstance(value, int) and not isinstance(value, bool))
            if rule is int and isinstance(value, bool):
                ok = False
            if not ok:
                raise RecipeError(f"{where}.{key}: must be {rule.__name__}, got {value!r}")


def apply_override(recipe: dict, assignment: str) -> None:
    """Apply ``dotted.key=value`` (value parsed as YAML) to ``recipe`` in place."""
    if "=" not in assignment:
        raise RecipeError(f"--set {assignment!r}: expected dotted.key=value")
    key, raw = assignment.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise RecipeError(f"--set {assignment!r}: empty key")
    node = recipe
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise RecipeError(f"--set {assignment!r}: {p!r} is not a section")
    node[parts[-1]] = yaml.safe_load(raw)


def load_recipe(name: str, overrides: list[str] | None = None) -> tuple[dict, Path]:
    """The recipe as a dict (overrides applied, schema checked) and its file."""
    path = recipe_path(name)
    try:
        recipe = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise RecipeError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(recipe, dict):
        raise RecipeError(f"{path}: a recipe must be a mapping")
    for o in overrides or []:
        apply_override(recipe, o)
    _check(recipe, RECIPE_SCHEMA, str(path))
    for key in ("model", "data", "reward", "grpo"):
        if key not in recipe:
            raise RecipeError(f"{path}: missing section {key!r}")
    if recipe.get("divergence", "js") not in ("kl", "js"):
        raise RecipeError(f"{path}: divergence must be 'kl' or 'js', got {recipe.get('divergence')!r}")
    if recipe.get("js_mode", "sampled") not in ("sampled", "full"):
        raise RecipeError(f"{path}: js_mode must be 'sampled' or 'full', got {recipe.get('js_mode')!r}")
    if recipe["data"].get("kind") not in ("m2m", "gsm8k"):
        raise RecipeError(f"{path}: data.kind must be 'm2m' or 'gsm8k'")
    if recipe["reward"].get("kind") not in ("tripartite", "gsm8k"):
        raise RecipeError(f"{path}: reward.kind must be 'tripartite' or 'gsm8k'")
    return recipe, path


# --------------------------------------------------------------------------- data


def _records(data_cfg: dict):
    from m2m_bench import load_dataset

    ds = load_dataset(data_cfg.get("dataset") or data_cfg["kind"], data_cfg.get("version"), split=data_cfg.get("split", "train"))
    n = data_cfg.get("max_records")
    if n is not None and n < len(ds):
        ds = ds.select(range(n))
    return ds


def build_dataset(data_cfg: dict):
    """The GRPO training set: ``prompt`` (chat messages) plus the columns the reward reads."""
    from datasets import Dataset

    ds = _records(data_cfg)
    rows: list[dict] = []
    if data_cfg["kind"] == "m2m":
        from m2m_bench.prompts import build_messages

        for r in ds:
            rows.append({"prompt": build_messages(r["conversation"]), "id": r["id"], "action": r["action"], "skills": list(r["skills"])})
    else:
        from .rewards import gsm8k_prompt

        for i, r in enumerate(ds):  # the harness task's zero-shot turn: "Question: ...\nAnswer:"
            rows.append({"prompt": [{"role": "user", "content": gsm8k_prompt(r["question"])}], "id": f"gsm8k-{i}", "answer": r["answer"]})
    if not rows:
        raise RecipeError(f"data: {data_cfg} selects no records")
    return Dataset.from_list(rows)


def dataset_fingerprint(data_cfg: dict) -> dict:
    """Name, version and content hash of the training data (for run.json and submissions)."""
    from m2m_bench.data import dataset_info

    name = data_cfg.get("dataset") or data_cfg["kind"]
    try:
        info = dataset_info(name, data_cfg.get("version"))
    except Exception as e:  # noqa: BLE001 - informational only
        return {"name": name, "version": data_cfg.get("version"), "error": str(e)}
    return {"name": name, "version": info.get("version"), "split": data_cfg.get("split"),
            "content_hash": info.get("content_hash"), "max_records": data_cfg.get("max_records")}  # fmt: skip


def build_reward(reward_cfg: dict):
    """``(reward_funcs, reward_weights)`` for TRL."""
    from .rewards import RewardWeights, TripartiteReward, gsm8k_correctness

    if reward_cfg["kind"] == "gsm8k":
        return [gsm8k_correctness], [1.0]
    weights = RewardWeights(
        float(reward_cfg.get("alpha", 0.4)), float(reward_cfg.get("beta", 0.3)), float(reward_cfg.get("gamma", 0.3))
    )
    reward = TripartiteReward(weights, encoder=reward_cfg.get("encoder"))
    return reward.reward_funcs(), weights.as_list()


# --------------------------------------------------------------------------- model


def resolve_model(model_cfg: dict, out: Path, smoke: bool) -> str:
    if smoke:
        from .tiny import build_tiny_model

        folder = out / "tiny-model"
        if not (folder / "config.json").is_file():
            build_tiny_model(folder, model_cfg.get("architecture", "llama"))
        return str(folder)
    path = model_cfg["path"]
    if path == "smollm2":
        from m2m_bench.models import smollm2_dir

        return str(smollm2_dir())
    return path


def sft_dir(recipe: dict, out: Path, recipe_name: str, smoke: bool) -> Path:
    """Where the SFT warm start goes: ``sft.output_dir``, else ``<run>/sft`` for smoke runs, else
    ``<run folder's parent>/<recipe>-sft`` -- shared by the KL and JS runs of a recipe, so both
    start from the same warm-started model."""
    sft = recipe.get("sft", {})
    if sft.get("output_dir"):
        return Path(sft["output_dir"])
    return out / "sft" if smoke else out.parent / f"{recipe_name or 'recipe'}-sft"


def sft_warm_start(model_path: str, recipe: dict, folder: Path, smoke: bool) -> str:
    """Supervised fine-tuning on the canonical answers of the train split; returns the model folder.

    The folder is reused when it already holds a finished model (``final/config.json``)."""
    final = folder / "final"
    if (final / "config.json").is_file():
        print(f"[train.grpo] SFT warm start: reusing {final}", file=sys.stderr)
        return str(final)
    from trl import SFTConfig, SFTTrainer

    from datasets import Dataset

    if recipe["data"]["kind"] != "m2m":
        raise RecipeError("sft.enabled is supported for data.kind m2m only")
    from m2m_bench.prompts import build_messages
    from m2m_bench.response import render_response

    rows = [
        {"prompt": build_messages(r["conversation"]),
         "completion": [{"role": "assistant", "content": render_response(r["action"], list(r["skills"]))}]}
        for r in _records(recipe["data"])
    ]  # fmt: skip
    sft = recipe.get("sft", {})
    g = recipe["grpo"]
    cfg = SFTConfig(
        output_dir=str(folder),
        num_train_epochs=float(sft.get("epochs", 1)),
        max_steps=1 if smoke else -1,
        learning_rate=float(sft.get("learning_rate", 2e-5)),
        per_device_train_batch_size=int(sft.get("per_device_train_batch_size", 8)),
        bf16=bool(g.get("bf16", False)),
        use_cpu=bool(g.get("use_cpu", False)),
        gradient_checkpointing=bool(g.get("gradient_checkpointing", False)),
        seed=int(g.get("seed", 0)),
        save_strategy="no",
        report_to=[],
        logging_steps=1,
        model_init_kwargs={"dtype": recipe["model"].get("dtype", "float32")},
    )
    folder.mkdir(parents=True, exist_ok=True)
    trainer = SFTTrainer(
        model=model_path, args=cfg, train_dataset=Dataset.from_list(rows), callbacks=[_jsonl_logger(folder / "log.jsonl")]
    )
    trainer.train()
    trainer.save_model(str(final))
    trainer.processing_class.save_pretrained(str(final))
    return str(final)


# --------------------------------------------------------------------------- run


def _jsonl_logger(path: Path):
    from transformers import TrainerCallback

    class JsonlLogger(TrainerCallback):
        """Append every log dict (with its step) to ``log.jsonl``."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs:
                return
            row = {"step": state.global_step, "time": round(time.time(), 3)}
            row.update({k: v for k, v in logs.items() if isinstance(v, (int, float, str))})
            with path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")

    return JsonlLogger()


def _versions() -> dict:
    import torch
    import transformers
    import trl

    commit = None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip() or None
    except Exception:  # noqa: BLE001
        pass
    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "trl": trl.__version__, "git_commit": commit}  # fmt: skip


def summarize_log(log_path: Path, last: int = 10) -> dict:
    """Means of the reward components, penalty terms and step time over the first and the last
    ``min(last, steps // 2)`` logged steps."""
    rows = []
    if log_path.is_file():
        for line in log_path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "reward" in row:
                rows.append(row)
    keys = ["reward", "rewards/r_action/mean", "rewards/r_skill/mean", "rewards/r_format/mean",
            "rewards/gsm8k_correctness/mean", "kl", "js", "penalty", "step_time", "completions/mean_length"]  # fmt: skip
    n = max(1, min(last, len(rows) // 2))  # two disjoint windows
    out: dict[str, Any] = {"logged_steps": len(rows), "window": n}
    for part, sel in (("first", rows[:n]), ("last", rows[-n:])):
        out[part] = {k: sum(r[k] for r in sel if k in r) / max(1, sum(k in r for r in sel)) for k in keys if any(k in r for r in sel)}
    return out


def run(recipe: dict, out: Path, *, smoke: bool = False, resume: bool = True, recipe_name: str = "",
        sft_only: bool = False) -> dict:  # fmt: skip
    """Run SFT (if enabled) and GRPO for ``recipe`` into ``out``; returns the run summary (``run.json``)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from transformers.trainer_utils import get_last_checkpoint

    from .trainer import M2MGRPOConfig, M2MGRPOTrainer

    recipe = copy.deepcopy(recipe)
    if smoke:
        recipe["grpo"].update({k: v for k, v in SMOKE_GRPO.items() if k not in recipe.get("_cli_fixed", ())})
        if not torch.cuda.is_available():
            recipe["grpo"].update(bf16=False, use_cpu=True)
        recipe["grpo"].pop("use_vllm", None)
        recipe["data"]["max_records"] = min(recipe["data"].get("max_records") or 8, 8)
    recipe.pop("_cli_fixed", None)
    if recipe.get("threads"):
        torch.set_num_threads(int(recipe["threads"]))

    out.mkdir(parents=True, exist_ok=True)
    ckpt = get_last_checkpoint(str(out)) if any(out.glob("checkpoint-*")) else None
    if ckpt and not resume:
        raise RecipeError(f"{out}: holds checkpoints ({Path(ckpt).name}); resume, or choose another --output-dir")
    (out / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    started = time.time()

    model_path = resolve_model(recipe["model"], out, smoke)
    if recipe.get("sft", {}).get("enabled"):
        model_path = sft_warm_start(model_path, recipe, sft_dir(recipe, out, recipe_name, smoke), smoke)
    if sft_only:
        return {"sft_model": model_path, "wall_seconds": round(time.time() - started, 1)}

    dataset = build_dataset(recipe["data"])
    reward_funcs, reward_weights = build_reward(recipe["reward"])
    g = dict(recipe["grpo"])
    g.setdefault("report_to", [])
    g.setdefault("model_init_kwargs", {"dtype": recipe["model"].get("dtype", "float32")})
    args = M2MGRPOConfig(
        output_dir=str(out),
        divergence=recipe.get("divergence", "js"),
        js_mode=recipe.get("js_mode", "sampled"),
        reward_weights=reward_weights,
        **g,
    )
    trainer = M2MGRPOTrainer(
        model=model_path,
        reward_funcs=reward_funcs,
        args=args,
        train_dataset=dataset,
        callbacks=[_jsonl_logger(out / "log.jsonl")],
    )
    if ckpt:
        print(f"[train.grpo] resuming from {ckpt}", file=sys.stderr)
    trainer.train(resume_from_checkpoint=ckpt)
    final = out / "final"
    trainer.save_model(str(final))
    trainer.processing_class.save_pretrained(str(final))

    summary = {
        "recipe": recipe_name,
        "divergence": args.divergence,
        "js_mode": args.js_mode if args.divergence == "js" else None,
        "beta": args.beta,
        "reward_weights": reward_weights,
        "seed": args.seed,
        "data_seed": args.data_seed,
        "smoke": smoke,
        "model": {"path": recipe["model"]["path"], "resolved": model_path, "final": str(final)},
        "parameters": sum(p.numel() for p in trainer.model.parameters()),
        "train_data": dataset_fingerprint(recipe["data"]),
        "global_step": trainer.state.global_step,
        "resumed_from": Path(ckpt).name if ckpt else None,
        "wall_seconds": round(time.time() - started, 1),
        "threads": torch.get_num_threads(),
        "versions": _versions(),
        "log_summary": summarize_log(out / "log.jsonl"),
    }
    (out / "run.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m train.grpo", description=__doc__.split("\n\n")[0])
    p.add_argument("--recipe", required=True, help="recipe name in train/recipes/ or a YAML file")
    p.add_argument("--divergence", choices=["js", "kl"], help="penalty (overrides the recipe)")
    p.add_argument("--js-mode", choices=["sampled", "full"], help="JS estimator (overrides the recipe)")
    p.add_argument("--max-steps", type=int, help="GRPO steps (overrides grpo.max_steps)")
    p.add_argument("--output-dir", type=Path, help="run folder (default runs/grpo/<recipe>-<divergence>)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value, e.g. --set grpo.beta=0.1 (repeatable)")  # fmt: skip
    p.add_argument("--smoke", action="store_true", help="tiny random model, tiny batch, 1 step (CPU is fine)")
    p.add_argument("--no-resume", action="store_true", help="refuse to continue from checkpoints in the run folder")
    p.add_argument("--sft-only", action="store_true", help="run (or reuse) the SFT warm start only, then stop")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = list(args.overrides)
    if args.divergence:
        overrides.append(f"divergence={args.divergence}")
    if args.js_mode:
        overrides.append(f"js_mode={args.js_mode}")
    if args.max_steps is not None:
        overrides.append(f"grpo.max_steps={args.max_steps}")
    try:
        recipe, path = load_recipe(args.recipe, overrides)
    except RecipeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.max_steps is not None:
        recipe["_cli_fixed"] = ("max_steps",)
    name = path.stem
    div = recipe.get("divergence", "js")
    suffix = div + ("-full" if div == "js" and recipe.get("js_mode") == "full" else "")
    out = args.output_dir or REPO / "runs" / "grpo" / f"{name}-{suffix}{'-smoke' if args.smoke else ''}"
    try:
        summary = run(recipe, Path(out), smoke=args.smoke, resume=not args.no_resume, recipe_name=name,
                      sft_only=args.sft_only)  # fmt: skip
    except RecipeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.sft_only:
        print(f"[train.grpo] SFT model: {summary['sft_model']} ({summary['wall_seconds']} s)")
        return 0
    last = summary["log_summary"].get("last", {})
    shown = ", ".join(f"{k}={v:.4g}" for k, v in last.items() if isinstance(v, float) and math.isfinite(v))
    print(f"[train.grpo] done: {summary['global_step']} steps in {summary['wall_seconds']} s -> {out}/final\n  last steps: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
