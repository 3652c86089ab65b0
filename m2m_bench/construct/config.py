"""The configuration of one construction run: what ``pipeline.yaml`` records and a rebuild reads.

Per-stage decoding parameters start from each stage's ``defaults`` and are overridden, in
order, by the global options (``samples``, ``temperature`` for the self-consistency stages;
``max_tokens``, ``max_attempts``, ``seed``, ``extra_body`` for all; ``threshold`` for
discrimination) and then by ``overrides`` (``--set stage.key=value``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import M2MError
from .stages import (
    DEFAULT_STAGES,
    RECORD_STAGES,
    REQUIRES,
    STAGE_ORDER,
    Stage,
    StageParams,
    TaxonomyStage,
)

#: Stages whose answers are voted on (``--samples`` and ``--temperature`` apply to them).
SELF_CONSISTENCY = ("entities", "explicit", "implicit")
DEFAULT_SPLIT_RATIOS = {"train": 0.8, "validation": 0.1, "test": 0.1}
_PARAM_KEYS = ("samples", "temperature", "top_p", "max_tokens", "max_attempts", "seed")


@dataclass
class ConstructConfig:
    """Everything that decides a build's records, given the inputs and the cached answers."""

    inputs: list[str]
    stages: list[str] = field(default_factory=lambda: list(DEFAULT_STAGES))
    samples: int | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    max_attempts: int = 3
    seed: int = 0
    threshold: float = 0.5
    extra_body: dict[str, Any] | None = None
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    taxonomy: str | None = None
    limit: int | None = None
    split_ratios: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SPLIT_RATIOS))
    #: ``--pin-splits``: a JSON ``{id: split}`` file or a released version folder (:mod:`.selection`).
    pin_splits: str | None = None
    #: ``--annotate``: the ids file of the records the ERA-CoT stages run on (default: all).
    annotate: str | None = None

    def __post_init__(self) -> None:
        if not self.inputs:
            raise M2MError("no --input given")
        unknown = [s for s in self.stages if s not in STAGE_ORDER]
        if unknown:
            raise M2MError(
                f"--stages: unknown stage(s) {unknown}; stages: {', '.join(STAGE_ORDER)}"
            )
        self.stages = [s for s in STAGE_ORDER if s in self.stages]
        for s in self.stages:
            missing = [r for r in REQUIRES.get(s, ()) if r not in self.stages]
            if missing:
                raise M2MError(f"--stages: stage {s!r} needs {', '.join(missing)} before it")
        if not 0.0 <= float(self.threshold) <= 1.0:
            raise M2MError(f"--threshold must lie in [0, 1], got {self.threshold}")
        if self.samples is not None and self.samples < 1:
            raise M2MError(f"--samples must be >= 1, got {self.samples}")
        if self.max_attempts < 1:
            raise M2MError(f"--max-attempts must be >= 1, got {self.max_attempts}")
        if self.limit is not None and self.limit < 1:
            raise M2MError(f"--limit must be >= 1, got {self.limit}")
        total = sum(self.split_ratios.values())
        if (
            set(self.split_ratios) != set(DEFAULT_SPLIT_RATIOS)
            or any(v < 0 for v in self.split_ratios.values())
            or abs(total - 1.0) > 1e-6
        ):
            raise M2MError(
                f"--split-ratios needs train, validation and test, non-negative, summing to 1; got {self.split_ratios}"
            )
        for stage, opts in self.overrides.items():
            if stage not in STAGE_ORDER:
                raise M2MError(f"--set {stage}.*: unknown stage; stages: {', '.join(STAGE_ORDER)}")
            if not isinstance(opts, Mapping):
                raise M2MError(f"--set {stage}: expected key=value pairs")
        for name in self.stages:
            self.params(name)  # validate every override now, not mid-run

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConstructConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise M2MError(f"pipeline config: unknown field(s) {unknown}")
        return cls(**dict(data))

    def stage(self, name: str) -> Stage:
        return TaxonomyStage() if name == "taxonomy" else RECORD_STAGES[name]

    def params(self, name: str) -> StageParams:
        """The resolved :class:`StageParams` of stage ``name`` (formula in the module docstring)."""
        st = self.stage(name)
        d = dict(st.defaults)
        options = dict(d.pop("options", {}) or {})
        p: dict[str, Any] = {"samples": 1, "temperature": 0.0, "top_p": 1.0, "max_tokens": 256, **d}
        p["max_attempts"], p["seed"] = self.max_attempts, self.seed
        if name in SELF_CONSISTENCY:
            if self.samples is not None:
                p["samples"] = self.samples
            if self.temperature is not None:
                p["temperature"] = self.temperature
        if self.max_tokens is not None:
            p["max_tokens"] = self.max_tokens
        if name == "discriminate":
            options["threshold"] = float(self.threshold)
        if self.extra_body:
            options["extra_body"] = dict(self.extra_body)
        for k, v in (self.overrides.get(name) or {}).items():
            if k in _PARAM_KEYS:
                p[k] = v
            elif k in options:
                options[k] = v
            else:
                known = ", ".join([*_PARAM_KEYS, *options])
                raise M2MError(f"--set {name}.{k}: unknown option; known: {known}")
        if st.fixed_samples is not None and p["samples"] != st.fixed_samples:
            raise M2MError(
                f"--set {name}.samples: the {name} stage takes exactly {st.fixed_samples} sample"
            )
        try:
            sp = StageParams(
                samples=int(p["samples"]), temperature=float(p["temperature"]), top_p=float(p["top_p"]),
                max_tokens=int(p["max_tokens"]), seed=int(p["seed"]), max_attempts=int(p["max_attempts"]),
                options=options,
            )  # fmt: skip
        except (TypeError, ValueError) as e:
            raise M2MError(f"--set {name}: bad value ({e})") from None
        if sp.samples < 1 or sp.max_tokens < 1 or sp.max_attempts < 1 or sp.temperature < 0:
            raise M2MError(
                f"stage {name}: samples, max_tokens and max_attempts must be >= 1, temperature >= 0"
            )
        if name == "summarize" and options.get("authored") not in ("keep", "compare"):
            raise M2MError(
                f"--set summarize.authored must be 'keep' or 'compare', got {options.get('authored')!r}"
            )
        if name == "discriminate" and not 0.0 <= float(options["threshold"]) <= 1.0:
            raise M2MError(
                f"--set discriminate.threshold must lie in [0, 1], got {options['threshold']}"
            )
        return sp


def parse_set(items: list[str]) -> dict[str, dict[str, Any]]:
    """``["entities.samples=5", "discriminate.threshold=0.7"]`` -> nested dict (values as YAML)."""
    import yaml

    out: dict[str, dict[str, Any]] = {}
    for it in items:
        lhs, sep, rhs = it.partition("=")
        stage, dot, key = lhs.partition(".")
        if not sep or not dot or not stage or not key:
            raise M2MError(f"--set {it!r}: expected STAGE.KEY=VALUE, e.g. entities.samples=5")
        try:
            value = yaml.safe_load(rhs)
        except yaml.YAMLError:
            value = rhs
        out.setdefault(stage.strip(), {})[key.strip()] = value
    return out


def parse_ratios(text: str) -> dict[str, float]:
    """``"train=0.8,validation=0.1,test=0.1"`` -> dict."""
    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise M2MError(f"--split-ratios {text!r}: expected NAME=FRACTION,...") from None
        if not sep or not name.strip():
            raise M2MError(f"--split-ratios {text!r}: expected NAME=FRACTION,...")
    return out
