"""Recipes: schema checks, overrides, and end-to-end smoke runs on tiny random models."""

from __future__ import annotations

import json

import pytest
import yaml

from train.grpo import RECIPES_DIR, RecipeError, apply_override, load_recipe, main, summarize_log

RECIPES = sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))


def test_the_three_recipes_exist_and_load():
    assert {"cpu-smollm2", "gpu-qwen2.5-3b", "gsm8k-smollm2"} <= set(RECIPES)
    for name in RECIPES:
        recipe, path = load_recipe(name)
        assert path.parent == RECIPES_DIR
        assert recipe["divergence"] in ("kl", "js")
        g = recipe["grpo"]
        assert g["beta"] > 0 and g["per_device_train_batch_size"] % g["num_generations"] == 0
        if recipe["reward"]["kind"] == "tripartite":
            r = recipe["reward"]
            assert r["alpha"] + r["beta"] + r["gamma"] == pytest.approx(1.0)


def test_gpu_recipe_is_the_paper_setting():
    recipe, _ = load_recipe("gpu-qwen2.5-3b")
    assert recipe["model"]["path"] == "Qwen/Qwen2.5-3B-Instruct" and recipe["model"]["architecture"] == "qwen2"
    assert recipe["divergence"] == "js"


def test_overrides_and_errors(tmp_path):
    recipe, _ = load_recipe("cpu-smollm2", ["grpo.beta=0.1", "divergence=kl", "reward.alpha=0.5", "reward.gamma=0.2"])
    assert recipe["grpo"]["beta"] == 0.1 and recipe["divergence"] == "kl" and recipe["reward"]["alpha"] == 0.5
    with pytest.raises(RecipeError, match="unknown key 'modle'"):
        load_recipe("cpu-smollm2", ["modle.path=x"])
    with pytest.raises(RecipeError, match="divergence must be"):
        load_recipe("cpu-smollm2", ["divergence=tv"])
    with pytest.raises(RecipeError, match="must be int"):
        load_recipe("cpu-smollm2", ["data.max_records=many"])
    with pytest.raises(RecipeError, match="unknown recipe"):
        load_recipe("no-such-recipe")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [1, 2\n")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(str(bad))
    with pytest.raises(RecipeError, match="expected dotted.key=value"):
        apply_override({}, "grpo.beta")
    assert main(["--recipe", "cpu-smollm2", "--set", "divergence=tv"]) == 2


def test_summarize_log_ignores_garbage(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text('{"step": 1, "reward": 0.5, "kl": 0.1}\nnot json\n{"step": 2, "reward": 0.7}\n')
    s = summarize_log(log, last=1)
    assert s["logged_steps"] == 2 and s["window"] == 1
    assert s["last"]["reward"] == 0.7 and s["first"]["kl"] == 0.1 and s["first"]["reward"] == 0.5


@pytest.mark.slow
@pytest.mark.parametrize(
    ("recipe", "extra"),
    [
        ("gpu-qwen2.5-3b", []),  # tiny random Qwen2, SFT warm start, JS full
        ("cpu-smollm2", ["--divergence", "kl"]),  # tiny random Llama, KL
        ("gsm8k-smollm2", ["--js-mode", "full"]),  # GSM8K data and reward
    ],
)
def test_recipe_smoke_run_and_resume(tmp_path, recipe, extra):
    out = tmp_path / "run"
    assert main(["--recipe", recipe, "--smoke", "--output-dir", str(out), *extra]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["global_step"] == 1 and run["smoke"] is True
    assert (out / "final" / "config.json").is_file() and (out / "checkpoint-1").is_dir()
    arch = json.loads((out / "final" / "config.json").read_text())["model_type"]
    assert arch == yaml.safe_load((RECIPES_DIR / f"{recipe}.yaml").read_text())["model"]["architecture"]
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    step = next(r for r in rows if "reward" in r)
    assert "penalty" in step and "kl" in step
    if recipe == "gsm8k-smollm2":
        assert "rewards/gsm8k_correctness/mean" in step
    else:
        assert {"rewards/r_action/mean", "rewards/r_skill/mean", "rewards/r_format/mean"} <= set(step)
    if recipe == "gpu-qwen2.5-3b":
        assert (out / "sft" / "final" / "config.json").is_file()
        assert run["model"]["resolved"].endswith("sft/final")
    # a second call resumes from checkpoint-1 and continues to step 2
    assert main(["--recipe", recipe, "--smoke", "--output-dir", str(out), "--max-steps", "2", *extra]) == 0
    run2 = json.loads((out / "run.json").read_text())
    assert run2["resumed_from"] == "checkpoint-1" and run2["global_step"] == 2
    assert main(["--recipe", recipe, "--smoke", "--output-dir", str(out), "--no-resume", *extra]) == 2
