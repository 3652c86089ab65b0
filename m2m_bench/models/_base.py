"""The model interface every ``--model`` spec resolves to, and the spec registry.

A spec is ``PREFIX:REST`` (``hf:./my-model``, ``openai:gpt-4o-mini``, ``predictions:out.jsonl``,
``baseline:retrieval``) or a bare registered name (``smollm2``). Loaders register themselves
with :func:`register`; :func:`load_model` dispatches on the prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import M2MError

Messages = list[dict[str, str]]


class UnknownModelSpec(M2MError):
    """A ``--model`` value whose prefix no loader is registered for."""


class ModelLoadError(M2MError):
    """A model spec that names something that cannot be loaded (missing folder, bad file)."""


class EndpointUnreachable(M2MError):
    """An OpenAI-compatible endpoint that does not answer."""


class ResponsePrefixUnsupported(M2MError):
    """A response prefix (assistant-turn prefill) asked of a model that cannot prefill."""


@dataclass(frozen=True)
class GenerationParams:
    """Decoding parameters; all of them enter the generation cache key.

    ``temperature == 0`` means greedy decoding; then ``top_p`` and ``seed`` have no effect and
    are dropped from the cache key, so changing ``--seed`` re-uses greedy generations.
    ``response_prefix`` names a :data:`m2m_bench.prompts.RESPONSE_PREFIXES` entry (assistant-turn
    prefill); ``none`` adds nothing to the cache key (keys of runs without a prefix are the
    same as before prefixes existed), any other prefix adds its name, text, stop string and
    version, so outputs of different prefixes never share a cache entry.
    """

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    response_prefix: str = "none"

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise M2MError(f"--max-new-tokens must be >= 1, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise M2MError(f"--temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise M2MError(f"--top-p must lie in (0, 1], got {self.top_p}")
        self.prefix  # noqa: B018 - validates the name

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    @property
    def prefix(self):
        """The :class:`m2m_bench.prompts.ResponsePrefix` named by ``response_prefix``."""
        from ..prompts import get_response_prefix

        return get_response_prefix(self.response_prefix)

    def _decoding(self) -> dict[str, Any]:
        d = asdict(self)
        del d["response_prefix"]
        return d

    def key_dict(self) -> dict[str, Any]:
        """The parameters that can change an output (what the cache is keyed by)."""
        if self.greedy:
            key: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "do_sample": False}
        else:
            key = {**self._decoding(), "do_sample": True}
        if self.prefix.active:
            key["response_prefix"] = self.prefix.identity()
        return key

    def as_dict(self) -> dict[str, Any]:
        """What the results JSON records (``response_prefix``: the prefix's identity or ``None``)."""
        return {**self._decoding(), "do_sample": not self.greedy, "response_prefix": self.prefix.identity()}

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`Model.generate`: decoding parameters, plus, when a prefix
        is used, ``response_prefix`` (its text), ``stop`` and ``include_stop=True``."""
        kw = self._decoding()
        p = self.prefix
        if p.active:
            kw["response_prefix"] = p.text
            if p.stop:
                kw.update(stop=[p.stop], include_stop=True)
        return kw


class Model:
    """Base class: a model answers chat prompts (lists of ``{"role", "content"}`` messages).

    Subclasses set ``spec`` (normalized spec string), ``name`` (short display name),
    ``revision`` (what exactly the weights/file/endpoint are) and implement :meth:`generate`.
    Models that do not read the prompt (stored predictions, baselines) override
    :meth:`predict`, which receives the records as well, and set ``cacheable = False``.

    :meth:`generate` keyword arguments: ``max_new_tokens``, ``temperature`` (0 = greedy),
    ``top_p``, ``seed``; ``stop`` (strings that end generation; cut from the output unless
    ``include_stop=True`` keeps the first one found and cuts after it); ``response_prefix``
    (assistant-turn prefill text: the prompt ends with the assistant header and this text, and
    each output is this text followed by the continuation). Models that cannot prefill keep
    ``supports_response_prefix = False`` and refuse a non-empty ``response_prefix``.
    """

    spec: str = ""
    name: str = ""
    revision: str | None = None
    kind: str = "generator"
    #: Whether outputs go through the generation cache (cheap or stored outputs do not).
    cacheable: bool = True
    #: Whether :meth:`generate` can answer arbitrary prompts (needed by GSM8K).
    can_generate: bool = True
    #: Preferred number of prompts per :meth:`generate` call (cache writes happen per call).
    chunk_size: int = 8
    #: Whether :meth:`generate` honours ``response_prefix`` (assistant-turn prefill).
    supports_response_prefix: bool = False
    #: The ``--response-prefix`` used when none is asked for
    #: (a :data:`m2m_bench.prompts.RESPONSE_PREFIXES` name).
    default_response_prefix: str = "none"

    def generate(self, batch: Sequence[Messages], **gen: Any) -> list[str]:  # pragma: no cover
        raise NotImplementedError

    def predict(self, records: Sequence[dict], batch: Sequence[Messages], **gen: Any) -> list[str]:
        """Outputs for ``records`` whose canonical prompts are ``batch`` (default: generate)."""
        return self.generate(batch, **gen)

    def response_prefix_error(self, prefix_name: str = "answer") -> ResponsePrefixUnsupported:
        """The error for ``--response-prefix PREFIX_NAME`` when this model cannot prefill."""
        what = "generates" if self.can_generate else "reads no prompt (stored or baseline answers)"
        return ResponsePrefixUnsupported(
            f"--response-prefix {prefix_name} needs assistant-turn prefill, which {self.spec} cannot do "
            f"(it {what}); use --response-prefix none"
        )

    def info(self) -> dict[str, Any]:
        """Extra facts recorded in the results JSON (device, dtype, endpoint, ...)."""
        return {}

    def close(self) -> None:
        """Release resources (threads, memory); called once the run is done."""

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Loader = Callable[..., Model]
_REGISTRY: dict[str, tuple[Loader, str]] = {}


def register(prefix: str, help: str = "") -> Callable[[Loader], Loader]:
    """Register ``loader(rest, **options) -> Model`` for specs ``PREFIX:REST`` (or bare ``PREFIX``)."""

    def deco(fn: Loader) -> Loader:
        if prefix in _REGISTRY and _REGISTRY[prefix][0] is not fn:
            raise ValueError(f"model prefix {prefix!r} is already registered")
        _REGISTRY[prefix] = (fn, help or (fn.__doc__ or "").strip().splitlines()[0])
        return fn

    return deco


def registered() -> dict[str, str]:
    """Registered prefixes and their one-line help."""
    _ensure_builtins()
    return {k: h for k, (_, h) in sorted(_REGISTRY.items())}


def _ensure_builtins() -> None:
    # Importing the modules runs their @register decorators.
    from . import baselines, hf, openai_api, predictions, smollm2  # noqa: F401


def parse_spec(spec: str) -> tuple[str, str]:
    """``"hf:./m"`` -> ``("hf", "./m")``; ``"smollm2"`` -> ``("smollm2", "")``."""
    if not isinstance(spec, str) or not spec.strip():
        raise UnknownModelSpec("empty --model spec; " + _known())
    spec = spec.strip()
    prefix, sep, rest = spec.partition(":")
    return (prefix, rest) if sep else (spec, "")


def _known() -> str:
    return "known: " + ", ".join(
        f"{p}" if p == "smollm2" else f"{p}:..." for p in registered()
    )


def load_model(spec: str, **options: Any) -> Model:
    """The :class:`Model` for ``spec``; options not used by that loader are ignored.

    Common options: ``base_url``, ``api_key_env``, ``concurrency``, ``max_retries`` (openai);
    ``device``, ``dtype``, ``batch_size`` (hf, smollm2); ``dataset``, ``version``, ``encoder``
    (baselines); ``split`` (predictions id check happens in the runner).
    """
    _ensure_builtins()
    prefix, rest = parse_spec(spec)
    if prefix not in _REGISTRY:
        raise UnknownModelSpec(f"unknown model spec {spec!r}; {_known()}")
    loader = _REGISTRY[prefix][0]
    if prefix != "smollm2" and not rest:
        raise UnknownModelSpec(f"model spec {spec!r} needs a value after '{prefix}:'; {_known()}")
    if prefix == "smollm2" and rest:
        raise UnknownModelSpec(f"model spec {spec!r}: 'smollm2' takes no value; {_known()}")
    return loader(rest, **options)
