"""The M2M tasks (and our offline GSM8K copy) as lm-eval task YAMLs.

Use them from lm-eval's own harness::

    lm_eval --include_path "$(python -c 'import m2m_bench.lm_eval_tasks as t; print(t.PATH)')" \\
        --tasks m2m --model hf --model_args pretrained=PATH --apply_chat_template

Tasks: ``m2m_action`` (SS, KMR, IC, CPS), ``m2m_skills`` (Jaccard, precision, recall, soft
variants, R_skill), ``m2m_format`` (validity, tree similarity, R_format), the group ``m2m`` of
all three, and ``m2m_gsm8k`` (lm-eval's ``gsm8k`` task, 5-shot, strict and flexible match,
reading the GSM8K copy shipped with m2m-bench instead of the Hub). The M2M tasks prompt with
:func:`m2m_bench.prompts.build_messages` (system message as the task description, user
message as the document text) and score with :mod:`m2m_bench.metrics`, so their numbers match
``python -m m2m_bench.evaluate`` for the same generations. Choose a dataset version with
``--metadata '{"dataset_version": "0.1.0"}'`` (default: newest shipped).

The three M2M tasks send the same prompts; pass ``--use_cache PATH`` so lm-eval generates each
answer once.
"""

from __future__ import annotations

from pathlib import Path

#: The folder to pass to ``lm_eval --include_path`` (or ``TaskManager(include_path=...)``).
PATH = str(Path(__file__).resolve().parent)

M2M_TASKS = ("m2m_action", "m2m_skills", "m2m_format")
GSM8K_TASK = "m2m_gsm8k"


def path() -> str:
    """The include path of these task YAMLs."""
    return PATH
