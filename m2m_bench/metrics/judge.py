"""LLM judge (task ``judge``, paper §4.3): rationality and relevance on a versioned rubric.

Any OpenAI-compatible chat endpoint can judge (OpenAI, vLLM, llama.cpp, ``transformers
serve``); the key comes from the environment variable ``JudgeConfig.api_key_env``.

Pointwise mode (default): for each output the judge sees the conversation and the parsed
answer (action and skills) and returns ``{"rationale", "rationality", "relevance"}`` with
integer scores 1-5 on the rubric :data:`RUBRICS`. Metrics ``judge.rationality`` and
``judge.relevance`` are those integers (mean over judged items).

Pairwise mode (``pairwise=True``): the judge sees the output and an opponent answer (the
reference answer of the record by default, or another model's outputs passed as
``opponent_outputs``) as answers A and B, in an order drawn per item from
``Random(f"{seed}:{record id}")``, and names the better one per criterion (``A``, ``B`` or
``tie``). Metrics ``judge.rationality_win`` / ``judge.relevance_win`` are 1 for a win of the
scored output, 0.5 for a tie, 0 for a loss (mean = win rate with ties halved).

Structured output: with ``structured="auto"`` the first request asks for a JSON schema
(``response_format={"type": "json_schema"}``); a server that rejects it (HTTP 400/422) is
asked for ``json_object``, then for nothing; the prompt always spells out the JSON, and the
reply is parsed leniently (code fences and text around the object are skipped). Servers that
ignore ``response_format`` (``transformers serve``) are handled by the same parsing.

Retries: each item gets at most ``1 + max_retries`` attempts; transient errors (connection,
timeout, 429, 5xx) wait ``backoff * 2**(k-1)`` seconds times a factor in [0.5, 1.5] before
retry k, replies that do not parse or break the schema are retried at once. An item whose
attempts all fail has ``None`` scores and ``judge.failures = 1``: failures are counted, never
dropped. Errors that no retry can fix (unreachable endpoint, bad key, unknown model) stop the
run with an :class:`~m2m_bench.errors.M2MError`.

Identity: every column carries the judge model and rubric version (and the pairwise opponent),
e.g. ``judge.rationality[gpt-4o|rubric-v1]``, so scores of different judges never share a
column. An answer with neither action nor skills is not sent: it scores 1 (pointwise) or
loses (pairwise), as the rubric says.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..errors import M2MError
from ..response import ParsedResponse, parse_response
from ._batch import Batch, Item
from ._registry import register_metric

# --------------------------------------------------------------------------- rubric


@dataclass(frozen=True)
class Rubric:
    """A judge rubric: system prompts for both modes and the score range. Frozen by version."""

    version: str
    pointwise_system: str
    pairwise_system: str
    low: int = 1
    high: int = 5


_RUBRIC_V1_CRITERIA = """\
Criteria:
- rationality: is the ACTION what a sensible person would physically do in this scenario,
  consistent with every fact the conversation states, concrete and feasible?
- relevance: do the SKILLS match the ACTION, i.e. is each skill a movement the action needs,
  and do the skills together cover the action's main movements?"""

RUBRIC_V1 = Rubric(
    version="rubric-v1",
    pointwise_system=f"""\
You are an impartial evaluator of answers to a motion-reasoning task. The task: read a
conversation or scene, infer the physical ACTION a person would take next, and list the motion
SKILLS that action needs. Score one answer.

{_RUBRIC_V1_CRITERIA}

Scale for rationality:
5 = fits the scenario fully, consistent with every stated fact, concrete and feasible
4 = fits and is consistent; slightly vague or adds a small unsupported detail
3 = plausible but generic, or ignores a relevant detail of the scenario
2 = weakly related to the scenario, or contradicts a stated fact
1 = missing, not a physical action, unrelated, or impossible
Scale for relevance:
5 = every skill is a movement the action needs and together they cover its main movements
4 = every skill fits the action, but a main movement is missing or one skill is vague
3 = most skills fit; some are unrelated or important movements are missing
2 = few skills relate to the action
1 = no skills, or none relate to the action

Judge only the answer's content, not its length or style. Reply with one JSON object and
nothing else: {{"rationale": "<one or two sentences>", "rationality": <1-5>, "relevance": <1-5>}}""",
    pairwise_system=f"""\
You are an impartial evaluator of answers to a motion-reasoning task. The task: read a
conversation or scene, infer the physical ACTION a person would take next, and list the motion
SKILLS that action needs. Compare two answers, A and B, to the same scenario.

{_RUBRIC_V1_CRITERIA}

For each criterion name the better answer: "A", "B", or "tie" when neither is better. The order
of the answers is random and says nothing about their quality; judge only content, not length
or style. Reply with one JSON object and nothing else:
{{"rationale": "<one or two sentences>", "rationality": "A"|"B"|"tie", "relevance": "A"|"B"|"tie"}}""",
)

#: Rubrics by version. A changed wording is a new version, never an edit of an old one.
RUBRICS: dict[str, Rubric] = {RUBRIC_V1.version: RUBRIC_V1}
CRITERIA = ("rationality", "relevance")
#: Conversations are cut to this many characters in the judge prompt.
MAX_CONVERSATION_CHARS = 6000


def pointwise_schema(rubric: Rubric) -> dict[str, Any]:
    score = {"type": "integer", "minimum": rubric.low, "maximum": rubric.high}
    return {
        "type": "object",
        "properties": {"rationale": {"type": "string"}, **{c: score for c in CRITERIA}},
        "required": ["rationale", *CRITERIA],
        "additionalProperties": False,
    }


def pairwise_schema() -> dict[str, Any]:
    choice = {"type": "string", "enum": ["A", "B", "tie"]}
    return {
        "type": "object",
        "properties": {"rationale": {"type": "string"}, **{c: choice for c in CRITERIA}},
        "required": ["rationale", *CRITERIA],
        "additionalProperties": False,
    }


def _answer_block(answer: ParsedResponse) -> str:
    skills = "; ".join(answer.skills) if answer.skills else "(none)"
    return f"ACTION: {answer.action or '(none)'}\nSKILLS: {skills}"


def _conversation(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_CONVERSATION_CHARS:
        text = text[:MAX_CONVERSATION_CHARS] + " [...]"
    return text


def pointwise_messages(rubric: Rubric, conversation: str, answer: ParsedResponse) -> list[dict[str, str]]:
    """The chat messages that ask the judge to score one answer."""
    user = f"CONVERSATION:\n{_conversation(conversation)}\n\nANSWER:\n{_answer_block(answer)}"
    return [{"role": "system", "content": rubric.pointwise_system}, {"role": "user", "content": user}]


def pairwise_messages(
    rubric: Rubric, conversation: str, a: ParsedResponse, b: ParsedResponse
) -> list[dict[str, str]]:
    """The chat messages that ask the judge to compare answers A and B."""
    user = (
        f"CONVERSATION:\n{_conversation(conversation)}\n\n"
        f"ANSWER A:\n{_answer_block(a)}\n\nANSWER B:\n{_answer_block(b)}"
    )
    return [{"role": "system", "content": rubric.pairwise_system}, {"role": "user", "content": user}]


# --------------------------------------------------------------------------- verdict parsing


class VerdictError(ValueError):
    """A judge reply that is not a JSON object of the rubric's shape."""


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S | re.I)


def extract_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in ``text`` (whole text, a fenced block, or embedded in prose)."""
    if not isinstance(text, str) or not text.strip():
        raise VerdictError("empty reply")
    candidates = [text.strip(), *(m.group(1).strip() for m in _FENCE.finditer(text))]
    for c in candidates:
        try:
            obj = json.loads(c)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(obj, dict):
            return obj
    decoder = json.JSONDecoder()
    for m in re.finditer(r"\{", text):
        try:
            obj, _ = decoder.raw_decode(text, m.start())
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(obj, dict):
            return obj
    raise VerdictError(f"no JSON object in the reply: {text.strip()[:80]!r}")


def _score(value: Any, rubric: Rubric, key: str) -> int:
    if isinstance(value, bool):
        raise VerdictError(f"{key}: expected an integer {rubric.low}-{rubric.high}, got {value!r}")
    if isinstance(value, str) and re.fullmatch(r"\s*\d+(\.0+)?\s*", value):
        value = float(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not rubric.low <= value <= rubric.high:
        raise VerdictError(f"{key}: expected an integer {rubric.low}-{rubric.high}, got {value!r}")
    return value


def parse_pointwise(text: str, rubric: Rubric = RUBRIC_V1) -> dict[str, int]:
    """``{"rationality": s, "relevance": s}`` from a pointwise reply; raises :class:`VerdictError`."""
    obj = extract_json_object(text)
    missing = [c for c in CRITERIA if c not in obj]
    if missing:
        raise VerdictError(f"missing key(s) {missing} in {obj!r:.80}")
    return {c: _score(obj[c], rubric, c) for c in CRITERIA}


def parse_pairwise(text: str) -> dict[str, str]:
    """``{"rationality": "A"|"B"|"tie", ...}`` from a pairwise reply; raises :class:`VerdictError`."""
    obj = extract_json_object(text)
    out = {}
    for c in CRITERIA:
        v = obj.get(c)
        v = v.strip().strip("\"'").lower() if isinstance(v, str) else v
        if v in ("a", "answer a"):
            out[c] = "A"
        elif v in ("b", "answer b"):
            out[c] = "B"
        elif v in ("tie", "equal", "neither", "both"):
            out[c] = "tie"
        else:
            raise VerdictError(f"{c}: expected 'A', 'B' or 'tie', got {obj.get(c)!r:.40}")
    return out


def win_value(choice: str, candidate_is_a: bool) -> float:
    """1 when the scored output won, 0.5 for a tie, 0 when it lost."""
    if choice == "tie":
        return 0.5
    return 1.0 if (choice == "A") == candidate_is_a else 0.0


def candidate_first(seed: int, key: str) -> bool:
    """Whether the scored output is shown as answer A for the item named ``key``."""
    return random.Random(f"{seed}:{key}").random() < 0.5


# --------------------------------------------------------------------------- the judge


@dataclass(frozen=True)
class JudgeConfig:
    """How to judge. ``identity`` (model, rubric, pairwise opponent) goes into column names."""

    model: str
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    rubric_version: str = RUBRIC_V1.version
    pairwise: bool = False
    #: Name of the pairwise opponent: "reference" (the record's answer) or a label for
    #: ``opponent_outputs`` (e.g. the other model's spec).
    opponent: str = "reference"
    max_retries: int = 3
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    timeout_s: float = 120.0
    temperature: float = 0.0
    max_tokens: int = 300
    concurrency: int = 4
    seed: int = 0
    #: "auto" (json_schema, then json_object, then none), or one of those to force it.
    structured: str = "auto"
    extra_body: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self):
        if self.rubric_version not in RUBRICS:
            raise M2MError(f"unknown judge rubric {self.rubric_version!r}; known: {', '.join(RUBRICS)}")
        if self.structured not in ("auto", "json_schema", "json_object", "none"):
            raise M2MError(f"judge structured={self.structured!r}: use auto, json_schema, json_object or none")
        if not self.model:
            raise M2MError("the judge needs a model name (--judge-model)")

    @property
    def rubric(self) -> Rubric:
        return RUBRICS[self.rubric_version]

    @property
    def identity(self) -> str:
        ident = f"{self.model}|{self.rubric_version}"
        return ident + (f"|pairwise-vs-{self.opponent}" if self.pairwise else "")


@dataclass
class Verdict:
    """One item's outcome: values by metric (``None`` when it failed), the error, attempts used."""

    values: dict[str, float | None]
    error: str | None = None
    attempts: int = 0
    rationale: str = ""


_MODES = ("json_schema", "json_object", "none")


class Judge:
    """Sends judge requests for a :class:`JudgeConfig` (thread-safe; one client)."""

    def __init__(self, config: JudgeConfig):
        import openai

        from ..models.openai_api import (
            DEFAULT_BASE_URL,
            check_endpoint,
            normalize_base_url,
            resolve_api_key,
        )

        self.config = config
        self.base_url = normalize_base_url(config.base_url or DEFAULT_BASE_URL)
        check_endpoint(self.base_url)
        self.client = openai.OpenAI(
            base_url=self.base_url,
            api_key=resolve_api_key(self.base_url, config.api_key_env),
            max_retries=0,
            timeout=config.timeout_s,
        )
        self._mode_index = 0 if config.structured == "auto" else _MODES.index(config.structured)
        self._lock = threading.Lock()
        self._rng = random.Random(config.seed)
        self.retries = 0

    @property
    def mode(self) -> str:
        return _MODES[self._mode_index]

    def _response_format(self, pairwise: bool) -> dict[str, Any] | None:
        schema = pairwise_schema() if pairwise else pointwise_schema(self.config.rubric)
        if self.mode == "json_schema":
            name = "pairwise_verdict" if pairwise else "pointwise_verdict"
            return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}
        if self.mode == "json_object":
            return {"type": "json_object"}
        return None

    def _downgrade(self, mode: str) -> bool:
        """Move past ``mode`` after a server rejected it; False when nothing is left to try."""
        if self.config.structured != "auto":
            return False
        with self._lock:
            if self.mode == mode and self._mode_index < len(_MODES) - 1:
                self._mode_index += 1
            return self.mode != mode

    def ask(self, messages: list[dict[str, str]], pairwise: bool) -> tuple[dict[str, Any] | None, str | None, int, str]:
        """(parsed verdict or None, last error, attempts, raw reply) for one request."""
        import openai

        from ..models.openai_api import backoff_delay, is_transient

        cfg = self.config
        attempts, error, raw = 0, None, ""
        while attempts <= cfg.max_retries:
            mode = self.mode
            kwargs: dict[str, Any] = {
                "model": cfg.model,
                "messages": messages,
                "temperature": cfg.temperature,
                "max_tokens": cfg.max_tokens,
                "seed": cfg.seed,
            }
            rf = self._response_format(pairwise)
            if rf is not None:
                kwargs["response_format"] = rf
            if cfg.extra_body:
                kwargs["extra_body"] = cfg.extra_body
            try:
                resp = self.client.chat.completions.create(**kwargs)
            except (openai.BadRequestError, openai.UnprocessableEntityError) as e:
                if rf is not None and self._downgrade(mode):
                    continue  # the server refused this response_format: not an attempt
                # The same request would be refused again (e.g. a prompt over the context).
                return None, f"HTTP {e.status_code}: {_message(e)}", attempts + 1, raw
            except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as e:
                raise M2MError(f"judge {cfg.model!r} at {self.base_url}: HTTP {e.status_code}: {_message(e)}") from None
            except openai.APIError as e:
                attempts += 1
                error = f"{type(e).__name__}: {_message(e)}"
                if not is_transient(e):
                    return None, error, attempts, raw
                if attempts <= cfg.max_retries:
                    with self._lock:
                        self.retries += 1
                        delay = backoff_delay(attempts, cfg.backoff_s, cfg.max_backoff_s, self._rng)
                    time.sleep(delay)
                continue
            attempts += 1
            raw = (resp.choices[0].message.content if resp.choices else None) or ""
            try:
                verdict = parse_pairwise(raw) if pairwise else parse_pointwise(raw, cfg.rubric)
            except VerdictError as e:
                error = f"unparseable reply ({e})"
                continue
            return verdict, None, attempts, raw
        return None, error, attempts, raw

    def judge_items(
        self,
        conversations: Sequence[str],
        answers: Sequence[ParsedResponse],
        keys: Sequence[str],
        opponents: Sequence[ParsedResponse] | None = None,
        progress: bool | None = None,
    ) -> list[Verdict]:
        """One :class:`Verdict` per answer (pairwise when ``opponents`` is given)."""
        from tqdm.auto import tqdm

        cfg = self.config
        pairwise = opponents is not None
        names = ("rationality_win", "relevance_win") if pairwise else CRITERIA
        low = float(cfg.rubric.low)

        def one(i: int) -> Verdict:
            ans = answers[i]
            empty = not ans.action and not ans.skills
            if not pairwise:
                if empty:
                    return Verdict({n: low for n in names}, rationale="empty answer: lowest score")
                got, err, n, raw = self.ask(pointwise_messages(cfg.rubric, conversations[i], ans), False)
                if got is None:
                    return Verdict({n: None for n in names}, err, n)
                return Verdict({n: float(got[n]) for n in names}, None, n, _rationale(raw))
            opp = opponents[i]
            opp_empty = not opp.action and not opp.skills
            if empty or opp_empty:
                v = 0.5 if empty and opp_empty else (0.0 if empty else 1.0)
                return Verdict({n: v for n in names}, rationale="empty answer loses")
            first = candidate_first(cfg.seed, keys[i])
            a, b = (ans, opp) if first else (opp, ans)
            got, err, n, raw = self.ask(pairwise_messages(cfg.rubric, conversations[i], a, b), True)
            if got is None:
                return Verdict({n: None for n in names}, err, n)
            values = {f"{c}_win": win_value(got[c], first) for c in CRITERIA}
            return Verdict(values, None, n, _rationale(raw))

        n = len(answers)
        out: list[Verdict | None] = [None] * n
        short = cfg.model.rstrip("/").rsplit("/", 1)[-1]  # a served folder's name, not its path
        disable = True if progress is False else None  # None: tqdm shows a bar on a terminal
        with tqdm(total=n, desc=f"judge {short}", unit="item", disable=disable) as bar:
            if cfg.concurrency <= 1 or n <= 1:
                for i in range(n):
                    out[i] = one(i)
                    bar.update()
            else:
                with ThreadPoolExecutor(max_workers=min(cfg.concurrency, n)) as pool:
                    futures = [pool.submit(one, i) for i in range(n)]
                    for i, f in enumerate(futures):
                        out[i] = f.result()
                        bar.update()
        return [v for v in out if v is not None]

    def close(self) -> None:
        self.client.close()


def _message(e: Exception) -> str:
    """The server's own error message where it sent one, else the client's."""
    body = getattr(e, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])[:300]
    return str(getattr(e, "message", None) or e)[:300]


def _rationale(raw: str) -> str:
    try:
        r = extract_json_object(raw).get("rationale", "")
    except VerdictError:
        return ""
    return str(r)[:500]


# --------------------------------------------------------------------------- metrics


def _config(opts: dict[str, Any]) -> JudgeConfig:
    cfg = opts.get("judge")
    if not isinstance(cfg, JudgeConfig):
        raise M2MError("the judge task needs judge=JudgeConfig(model=..., base_url=...) (--judge-model)")
    return cfg


def _run(batch: Batch) -> list[Verdict]:
    cfg = _config(batch.opts)
    items = batch.items
    opponents = None
    if cfg.pairwise:
        given = batch.opts.get("opponent_outputs")
        if given is None:
            if cfg.opponent != "reference":
                raise M2MError(f"pairwise judge vs {cfg.opponent!r} needs opponent_outputs (one per output)")
            opponents = [
                ParsedResponse(it.ref_action, it.ref_skills, "", True) for it in items
            ]
        else:
            if cfg.opponent == "reference":
                raise M2MError("opponent_outputs given: name the opponent with JudgeConfig(opponent=...)")
            if len(given) != len(items):
                raise M2MError(f"opponent_outputs has {len(given)} entries for {len(items)} outputs")
            opponents = [parse_response(o) for o in given]
    judge = Judge(cfg)
    try:
        verdicts = judge.judge_items(
            [str(it.record.get("conversation") or "") for it in items],
            [it.parsed for it in items],
            [it.record_id for it in items],
            opponents,
            progress=batch.opts.get("progress"),
        )
    finally:
        judge.close()
    details = batch.opts.get("judge_details")
    if isinstance(details, list):
        details.extend(
            {"id": it.record_id, "error": v.error, "attempts": v.attempts, "rationale": v.rationale}
            for it, v in zip(items, verdicts, strict=True)
        )
    return verdicts


def _verdict(it: Item, batch: Batch) -> Verdict:
    return batch.shared("judge", _run)[it.index]


def _pointwise(opts: dict[str, Any]) -> bool:
    return not _config(opts).pairwise


def _pairwise(opts: dict[str, Any]) -> bool:
    return _config(opts).pairwise


@register_metric("judge.rationality", task="judge", version="1", identity="judge", enabled=_pointwise)
def rationality(it: Item, batch: Batch) -> float | None:
    """Rationality = the judge's integer score 1-5 (rubric: is the action contextually
    appropriate and consistent with the scenario?); ``None`` when judging failed."""
    return _verdict(it, batch).values["rationality"]


@register_metric("judge.relevance", task="judge", version="1", identity="judge", enabled=_pointwise)
def relevance(it: Item, batch: Batch) -> float | None:
    """Relevance = the judge's integer score 1-5 (rubric: do the skills fit the action?);
    ``None`` when judging failed."""
    return _verdict(it, batch).values["relevance"]


@register_metric("judge.rationality_win", task="judge", version="1", identity="judge", enabled=_pairwise)
def rationality_win(it: Item, batch: Batch) -> float | None:
    """Pairwise rationality = 1 if the judge prefers the output to the opponent, 0.5 on a
    tie, 0 otherwise (answer order randomized per item); ``None`` when judging failed."""
    return _verdict(it, batch).values["rationality_win"]


@register_metric("judge.relevance_win", task="judge", version="1", identity="judge", enabled=_pairwise)
def relevance_win(it: Item, batch: Batch) -> float | None:
    """Pairwise relevance = 1 win, 0.5 tie, 0 loss against the opponent, as for
    ``judge.rationality_win``; ``None`` when judging failed."""
    return _verdict(it, batch).values["relevance_win"]


@register_metric("judge.failures", task="judge", version="1", identity="judge", aggregation="sum")
def failures(it: Item, batch: Batch) -> float:
    """Failures = 1 when every attempt to judge the item failed (its scores are ``None``),
    else 0; summed, not averaged, over a run."""
    return 1.0 if _verdict(it, batch).error is not None else 0.0
