"""Reference GRPO training for m2m-bench (``python -m train.grpo --recipe NAME``).

Built on TRL's :class:`~trl.GRPOTrainer`: :mod:`train.divergence` holds the per-token KL and
Jensen-Shannon penalties, :mod:`train.trainer` the trainer subclass that uses them,
:mod:`train.rewards` the Motion-R1 tripartite reward and the GSM8K reward, and
``train/recipes/*.yaml`` the recipes. See ``train/README.md``.
"""
