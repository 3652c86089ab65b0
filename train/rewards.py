"""GRPO rewards: the Motion-R1 tripartite reward (paper eqs. 6-9) and a GSM8K correctness reward.

Tripartite reward
-----------------
``R = alpha * R_action + beta * R_skill + gamma * R_format`` with ``alpha, beta, gamma >= 0`` and
``alpha + beta + gamma = 1`` (eq. 6; eq. 10 is the same sum inside the policy objective).
The components are **the harness metrics themselves**, looked up in the metric registry and
evaluated through the metrics' own batch machinery, so a reward and the leaderboard column of
the same name cannot drift apart:

==============  ==================  =====================================================
component       metric              definition (see its docstring in ``m2m_bench.metrics``)
==============  ==================  =====================================================
``R_action``    ``action.ss``       ``cos(E(a), E(a*))`` of the parsed ``<action>`` and the
                                    reference action (eq. 7); 0 without an action
``R_skill``     ``skills.r_skill``  ``1/|S*| sum_{s* in S*} max_{s in S} cos(E(s*), E(s))``
                                    (eq. 8); 0 without skills
``R_format``    ``format.r_format`` ``1/2 I_valid + 1/2 S_tree(Psi(r), Psi*)`` (eq. 9)
==============  ==================  =====================================================

Completions are read only through :func:`m2m_bench.response.parse_response` (inside the
metrics), which never raises and never expands entities, so any model output -- empty,
truncated, non-XML, hostile XML, not even a string -- gets a finite reward. All texts of one
batch (predicted and reference actions and skills) are embedded in **one** encoder call.

TRL calls each reward function separately; :meth:`TripartiteReward.reward_funcs` returns the
three components as three functions (``r_action``, ``r_skill``, ``r_format``) that share one
computation per batch, to be passed with ``reward_weights=[alpha, beta, gamma]``: TRL's
weighted sum is then R, and TRL logs each component's mean and std.

GSM8K reward
------------
:func:`gsm8k_correctness`: the ``exact_match`` of the harness's GSM8K task (lm-eval's regex
filter and metric, with the options read from ``m2m_bench/lm_eval_tasks/m2m_gsm8k.yaml``) of
the completion against the reference solution: 1 or 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

#: Registry names of the three components, in the order of ``reward_weights``.
COMPONENT_METRICS = {"r_action": "action.ss", "r_skill": "skills.r_skill", "r_format": "format.r_format"}


def completion_text(completion: Any) -> str:
    """The generated text of one TRL completion: a string, or the assistant turns of a
    conversational completion (``[{"role": "assistant", "content": ...}, ...]``) joined.
    Anything else gives ``""``."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        completion = [completion]
    if isinstance(completion, Sequence):
        parts = []
        for msg in completion:
            if isinstance(msg, Mapping) and msg.get("role", "assistant") == "assistant":
                content = msg.get("content")
                if isinstance(content, str):
                    parts.append(content)
                elif isinstance(content, Sequence):  # [{"type": "text", "text": ...}]
                    parts.extend(
                        c["text"] for c in content if isinstance(c, Mapping) and isinstance(c.get("text"), str)
                    )
        return "".join(parts)
    return ""


@dataclass(frozen=True)
class RewardWeights:
    """``alpha`` (R_action), ``beta`` (R_skill), ``gamma`` (R_format): non-negative, summing to 1."""

    alpha: float = 0.4
    beta: float = 0.3
    gamma: float = 0.3

    def __post_init__(self):
        vals = (self.alpha, self.beta, self.gamma)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0 for v in vals):
            raise ValueError(f"reward weights must be finite and >= 0, got alpha={self.alpha}, beta={self.beta}, gamma={self.gamma}")
        if abs(sum(vals) - 1.0) > 1e-6:
            raise ValueError(f"reward weights must sum to 1 (paper eq. 6), got {sum(vals):.6g}")

    def as_list(self) -> list[float]:
        return [float(self.alpha), float(self.beta), float(self.gamma)]


def _clean(text: str) -> str:
    """``text`` with lone surrogates (not encodable as UTF-8) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _safe_item(make_item, i: int, text: str, record: dict):
    """The metrics' item for one output; an output the parser cannot take is scored as empty."""
    try:
        return make_item(i, _clean(text), record)
    except Exception:  # noqa: BLE001 - a reward must never stop training on one odd output
        return make_item(i, "", record)


def _finite(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return 0.0
    return f if math.isfinite(f) else 0.0


class TripartiteReward:
    """Motion-R1's reward from the harness metrics; see the module docstring.

    ``encoder``: ``None`` (the default sentence encoder), a name/path, or an object with
    ``.name`` and ``.encode(texts)``. Records are built from the dataset columns TRL passes
    to reward functions: ``action`` (str) and ``skills`` (list of str), optionally ``id``.
    """

    def __init__(self, weights: RewardWeights | None = None, encoder: Any = None):
        from m2m_bench.metrics import all_metrics

        self.weights = weights or RewardWeights()
        registry = all_metrics()
        missing = [m for m in COMPONENT_METRICS.values() if m not in registry]
        if missing:  # pragma: no cover - the harness registers them on import
            raise RuntimeError(f"metrics not registered: {missing}")
        self.metrics = [registry[m] for m in COMPONENT_METRICS.values()]
        self._encoder = encoder
        self._memo_key: tuple | None = None
        self._memo: dict[str, list[float]] | None = None
        self.encoder_calls = 0

    def _encoder_obj(self):
        from m2m_bench.encoders import get_encoder

        if self._encoder is None or isinstance(self._encoder, str):
            self._encoder = get_encoder(self._encoder)
        return self._encoder

    def components(
        self,
        completions: Sequence[Any],
        action: Sequence[str],
        skills: Sequence[Sequence[str]],
        id: Sequence[str] | None = None,  # noqa: A002 - TRL passes dataset columns by name
    ) -> dict[str, list[float]]:
        """``{"r_action": [...], "r_skill": [...], "r_format": [...]}``, one value per completion."""
        from m2m_bench.metrics import Batch
        from m2m_bench.metrics._batch import make_item

        texts = [completion_text(c) for c in completions]
        n = len(texts)
        if len(action) != n or len(skills) != n:
            raise ValueError(f"reward: {n} completions but {len(action)} actions and {len(skills)} skill lists")
        ids = list(id) if id is not None else [f"#{i}" for i in range(n)]
        key = (tuple(texts), tuple(ids), tuple(action), tuple(tuple(s or ()) for s in skills))
        if key == self._memo_key and self._memo is not None:
            return self._memo
        records = [
            {"id": str(rid), "action": a if isinstance(a, str) else "", "skills": [s for s in (sk or []) if isinstance(s, str)]}
            for rid, a, sk in zip(ids, action, skills, strict=True)
        ]
        items = [_safe_item(make_item, i, t, r) for i, (t, r) in enumerate(zip(texts, records, strict=True))]
        batch = Batch(items, self.metrics, self._encoder_obj())
        batch.prepare()  # every text of the batch in one encoder call
        self.encoder_calls += batch.encoder_calls
        out = {
            name: [_finite(m.fn(it, batch)) for it in items]
            for name, m in zip(COMPONENT_METRICS, self.metrics, strict=True)
        }
        self._memo_key, self._memo = key, out
        return out

    def total(self, comps: Mapping[str, Sequence[float]]) -> list[float]:
        """``alpha R_action + beta R_skill + gamma R_format`` per completion."""
        w = self.weights
        return [
            w.alpha * a + w.beta * s + w.gamma * f
            for a, s, f in zip(comps["r_action"], comps["r_skill"], comps["r_format"], strict=True)
        ]

    def __call__(self, prompts=None, completions=(), action=(), skills=(), id=None, **kwargs) -> list[float]:  # noqa: A002
        """The combined reward R as one TRL reward function."""
        return self.total(self.components(completions, action, skills, id))

    def reward_funcs(self) -> list[Callable[..., list[float]]]:
        """The three components as TRL reward functions (pass ``reward_weights=self.weights.as_list()``)."""

        def make(name: str):
            def fn(prompts=None, completions=(), action=(), skills=(), id=None, **kwargs):  # noqa: A002
                return self.components(completions, action, skills, id)[name]

            fn.__name__ = name
            fn.__qualname__ = name
            fn.__doc__ = f"{name}: metric {COMPONENT_METRICS[name]} as a reward."
            return fn

        return [make(name) for name in COMPONENT_METRICS]


# --------------------------------------------------------------------------- GSM8K

#: The lm-eval filters of the harness's GSM8K task (``m2m_bench/lm_eval_tasks/m2m_gsm8k.yaml``).
GSM8K_FILTERS = ("strict-match", "flexible-extract")
#: Completions longer than this are cut before the answer regex runs.
MAX_GSM8K_CHARS = 20_000


class _TaskYamlLoader(yaml.SafeLoader):
    """Safe YAML loader that reads lm-eval's ``!function`` tags as plain strings."""


_TaskYamlLoader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))


@lru_cache(maxsize=1)
def _gsm8k_task_config() -> dict:
    """The harness's GSM8K lm-eval task file, parsed (``!function`` values kept as strings)."""
    from importlib.resources import files

    text = (files("m2m_bench.lm_eval_tasks") / "m2m_gsm8k.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=_TaskYamlLoader)  # noqa: S506 - a SafeLoader subclass


def gsm8k_prompt(question: str) -> str:
    """The GSM8K question rendered with the harness task's ``doc_to_text`` (``Question: ...\\nAnswer:``)."""
    import jinja2

    return jinja2.Template(_gsm8k_task_config()["doc_to_text"]).render(question=question)


@lru_cache(maxsize=1)
def _gsm8k_task() -> tuple[dict[str, dict], dict[str, Any]]:
    """``({filter name: regex step}, exact_match options)`` from the harness's GSM8K task file."""
    cfg = _gsm8k_task_config()
    filters = {}
    for f in cfg["filter_list"]:
        steps = [st for st in f["filter"] if st.get("function") == "regex"]
        filters[f["name"]] = steps[0]
    em = next(m for m in cfg["metric_list"] if m["metric"] == "exact_match")
    opts = {k: em[k] for k in ("regexes_to_ignore", "ignore_case", "ignore_punctuation", "ignore_numbers") if k in em}
    return filters, opts


def gsm8k_exact_match(texts: Sequence[Any], references: Sequence[str], filter_name: str = "flexible-extract") -> list[float]:
    """Per-completion GSM8K ``exact_match`` under the harness task's filter ``filter_name``.

    The definition is the harness's (lm-eval's ``gsm8k``): the filter's regex extracts the
    answer (``strict-match``: the number after ``#### ``; ``flexible-extract``: the last number),
    then lm-eval's ``exact_match`` compares it with the reference after the task's
    ``regexes_to_ignore`` and case folding. Both pieces are read from
    ``m2m_bench/lm_eval_tasks/m2m_gsm8k.yaml`` and run with lm-eval's own code.
    """
    from lm_eval.api.metrics import exact_match_hf_evaluate
    from lm_eval.filters.extraction import RegexFilter

    filters, opts = _gsm8k_task()
    if filter_name not in filters:
        raise ValueError(f"unknown GSM8K filter {filter_name!r}; the task defines {', '.join(filters)}")
    step = filters[filter_name]
    rf = RegexFilter(regex_pattern=step["regex_pattern"], group_select=int(step.get("group_select", 0)))
    clean = [(t if isinstance(t, str) else "")[:MAX_GSM8K_CHARS] for t in texts]
    preds = [r[0] for r in rf.apply([[t] for t in clean], [{}] * len(clean))]
    return [
        float(exact_match_hf_evaluate(predictions=[p], references=[ref if isinstance(ref, str) else ""], **opts)["exact_match"])
        for p, ref in zip(preds, references, strict=True)
    ]


def gsm8k_correctness(prompts=None, completions=(), answer=(), **kwargs) -> list[float]:
    """GSM8K reward: :func:`gsm8k_exact_match` of each completion against the dataset's
    ``answer`` column (the full solution ending ``#### n``), flexible-extract filter: 1.0 or 0.0."""
    return gsm8k_exact_match([completion_text(c) for c in completions], list(answer), "flexible-extract")
