"""Step time of the JS penalties over TRL's KL penalty, on the same model and the same batch.

One GRPO generation batch is produced once (2 M2M prompts x 4 generations, up to 48 new
tokens, SmolLM2-135M-Instruct by default, bf16 autocast as in the CPU recipe); then the loss forward + backward of
``M2MGRPOTrainer`` runs on that identical batch for ``kl``, ``js`` sampled and ``js`` full,
interleaved, ``--repeats`` times each, and the fastest repeats are compared (the least
disturbed by other jobs; median ratios are printed too). The policy is perturbed
away from the reference first so every penalty has a non-zero gradient. Printed:

* loss+backward time of each divergence and its ratio over KL (the penalty's own cost);
* the same ratios for a whole step (generation + scoring, measured once, plus loss+backward).

Goals (issue 7): JS sampled within 5 % of KL, JS full within 30 %.

    python bench/bench_divergence.py [--model smollm2|tiny|PATH] [--repeats 2] [--threads 1] [--fp32]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODES = (("kl", "sampled"), ("js", "sampled"), ("js", "full"))


def length_reward(prompts, completions, **kwargs):
    return [len(c[0]["content"]) / 100.0 for c in completions]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="smollm2", help="smollm2 (default), tiny, or a model folder")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--fp32", action="store_true", help="no bf16 autocast")
    p.add_argument("--prompts", type=int, default=2)
    p.add_argument("--generations", type=int, default=4)
    p.add_argument("--tokens", type=int, default=48)
    args = p.parse_args(argv)

    import torch

    from datasets import Dataset
    from m2m_bench import load_dataset
    from m2m_bench.prompts import build_messages
    from train.trainer import M2MGRPOConfig, M2MGRPOTrainer

    torch.set_num_threads(args.threads)
    tmp = tempfile.mkdtemp(prefix="bench-div-")
    if args.model == "smollm2":
        from m2m_bench.models import smollm2_dir

        model = str(smollm2_dir())
    elif args.model == "tiny":
        from train.tiny import build_tiny_model

        model = str(build_tiny_model(Path(tmp) / "tiny", "llama"))
    else:
        model = args.model

    recs = load_dataset("m2m", split="train").select(range(args.prompts))
    ds = Dataset.from_list([{"prompt": build_messages(r["conversation"])} for r in recs])
    bs = args.prompts * args.generations
    cfg = M2MGRPOConfig(
        output_dir=tmp, per_device_train_batch_size=bs, num_generations=args.generations,
        max_completion_length=args.tokens, beta=0.04, report_to=[], use_cpu=True, bf16=not args.fp32,
        gradient_checkpointing=False, save_strategy="no", disable_tqdm=True, seed=0,
        divergence="js", js_mode="full", loss_type="grpo",
    )  # fmt: skip
    tr = M2MGRPOTrainer(model=model, reward_funcs=length_reward, args=cfg, train_dataset=ds)
    tr.model.train()
    tr.current_gradient_accumulation_steps = 1
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():  # policy != reference, so all penalties have gradients
        for prm in tr.model.parameters():
            prm.add_(1e-3 * prm.abs().mean() * torch.randn(prm.shape, generator=g))

    batch = [ds[i] for i in range(args.prompts) for _ in range(args.generations)]
    t0 = time.perf_counter()
    inputs = tr._generate_and_score_completions(batch)  # js full: captures the reference hidden states too
    gen_s = time.perf_counter() - t0
    tokens = int(inputs["completion_mask"].sum())
    vocab = tr.model.get_output_embeddings().weight.shape[0]
    print(f"model {Path(model).name} (vocab {vocab}), {bs} completions, {tokens} completion tokens, "
          f"{args.threads} threads, {'fp32' if args.fp32 else 'bf16 autocast'}; generation + scoring {gen_s:.2f} s")  # fmt: skip

    times: dict[tuple[str, str], list[float]] = {m: [] for m in MODES}
    for rep in range(args.repeats + 1):  # the first round warms up and is discarded
        for div, mode in MODES:
            tr.divergence, tr.js_mode = div, mode
            tr.model.zero_grad(set_to_none=True)
            t0 = time.perf_counter()
            loss = tr._compute_loss(tr.model, inputs)
            loss.backward()
            dt = time.perf_counter() - t0
            if rep:
                times[(div, mode)].append(dt)
    # The fastest repeat is the least disturbed by other jobs on a shared machine; medians are shown too.
    best = {m: min(v) for m, v in times.items()}
    med = {m: statistics.median(v) for m, v in times.items()}
    base, base_med = best[("kl", "sampled")], med[("kl", "sampled")]
    goals = {("js", "sampled"): 1.05, ("js", "full"): 1.30}
    print(f"{'penalty':<12} {'loss+bwd s':>10} {'ratio':>7} {'step s':>8} {'ratio':>7} {'median ratio':>13}  goal (step)")
    for m in MODES:
        name = m[0] if m[0] == "kl" else f"js {m[1]}"
        step, base_step = gen_s + best[m], gen_s + base
        goal = f"<= {goals[m]:.2f}" if m in goals else ""
        print(f"{name:<12} {best[m]:>10.3f} {best[m] / base:>7.3f} {step:>8.2f} {step / base_step:>7.3f} "
              f"{med[m] / base_med:>13.3f}  {goal}")  # fmt: skip
    print(f"(fastest of {args.repeats} interleaved repeats; all repeats: "
          + "; ".join(f"{m[0]}{'' if m[0] == 'kl' else ' ' + m[1]} " + " ".join(f"{x:.2f}" for x in v) for m, v in times.items())
          + ")")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
