"""The canonical M2M response format, defined once: render it, and parse any model output safely.

Format (response format v1)
---------------------------
A model's answer to an M2M conversation is this XML fragment, and nothing around it::

    <think>free-text reasoning (may be empty)</think>
    <answer>
      <action>one sentence: the physical action a person would take</action>
      <skills>
        <skill>a short motion-skill verb phrase</skill>
        ...one or more <skill> elements...
      </skills>
    </answer>

Grammar, as :func:`parse_response` checks it (an output is ``valid`` when every rule holds):

* The output is a well-formed XML fragment (checked by the stdlib expat parser) made of an
  optional ``<think>`` followed by exactly one ``<answer>``; outside them only whitespace.
* ``<answer>`` holds exactly ``<action>`` then ``<skills>``; ``<skills>`` holds one or more
  ``<skill>``. Whitespace between elements is free; no other text, element or attribute.
* ``<think>``, ``<action>`` and ``<skill>`` hold text only; ``<action>`` is non-empty after
  trimming, each ``<skill>`` after :func:`m2m_bench.schema.normalize_skill`. Text uses the five predefined XML entities and numeric
  character references for ``&``, ``<`` and ``>``.
* Comments are allowed (they are XML); a DOCTYPE, an XML declaration or a processing
  instruction is not part of the format.

:func:`render_response` writes this form (a ``<think>`` element is always written, empty when
there is no reasoning); :data:`FORMAT_INSTRUCTIONS` describes it for prompts. The metrics
(``m2m_bench.metrics``) and the GRPO rewards read model outputs only through
:func:`parse_response`.

Safety
------
Model output is untrusted. :func:`parse_response` never raises on any string. It wraps the
output in a root element of its own before handing it to expat, so a document type
declaration cannot occur in the input at all (expat rejects one inside an element): no
internal or external entity is ever defined, expanded or fetched, and no network or file is
touched. Handlers for declarations are installed anyway and refuse them. Outputs longer than
:data:`MAX_RESPONSE_CHARS` are cut to that length (and reported), nesting deeper than
:data:`MAX_DEPTH` and elements beyond :data:`MAX_ELEMENTS` are dropped (and reported).

Recovery
--------
When expat rejects the output, a tolerant tag scanner recovers what it can: elements that are
never closed are closed at the next tag that cannot nest in them or at the end, stray end tags
are skipped, tag names are matched case-insensitively, and a ``<skills>`` element holding
plain text instead of ``<skill>`` elements is split at commas, semicolons and new lines.
Every such repair is listed in ``errors``; ``valid`` is then ``False``. Text outside any
element is never taken as the action.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.parsers import expat

from .schema import normalize_skill, normalize_skills

#: Version of the response format and of this parser's recovery rules.
RESPONSE_FORMAT_VERSION = "1"
#: Outputs longer than this (characters) are cut before parsing.
MAX_RESPONSE_CHARS = 100_000
#: Elements nested deeper than this are dropped.
MAX_DEPTH = 32
#: Elements beyond this count are dropped (bounds the tree edit distance's cost).
MAX_ELEMENTS = 512

#: Label of the virtual root above the top-level elements in :attr:`ParsedResponse.tree`.
ROOT_LABEL = "#response"

#: The format, described for a prompt.
FORMAT_INSTRUCTIONS = (
    "Answer in exactly this XML format and nothing else:\n"
    "<think>your short reasoning</think>\n"
    "<answer><action>one sentence: the physical action the person takes</action>"
    "<skills><skill>first motion skill</skill><skill>second motion skill</skill></skills></answer>\n"
    "Give one or more <skill> elements, each a short verb phrase such as \"kick the door\"."
)

#: A tree as nested tuples: ``(label, (child, ...))``; hashable, so distances can be cached.
Tree = tuple[str, tuple["Tree", ...]]

_WRAP = "m2m-response-root"
_LEAVES = frozenset({"think", "action", "skill"})
_XML_INVALID_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_WS = re.compile(r"\s+")
_SKILL_SPLIT = re.compile(r"[,;\n]+")


@dataclass(frozen=True)
class ParsedResponse:
    """What :func:`parse_response` read from one output.

    ``action``  the ``<action>`` text, whitespace collapsed ("" when none was found);
    ``skills``  the ``<skill>`` texts, normalized with :func:`m2m_bench.schema.normalize_skills`;
    ``think``   the ``<think>`` text, trimmed;
    ``valid``   ``True`` when the output follows the format exactly (see the module docstring);
    ``errors``  one line per rule broken or repair made (empty when valid);
    ``tree``    the element tree under a virtual root labelled :data:`ROOT_LABEL`, labels
                being tag names; text is not part of it. For invalid outputs it is the
                recovered tree.
    """

    action: str
    skills: tuple[str, ...]
    think: str
    valid: bool
    errors: tuple[str, ...] = ()
    tree: Tree = field(default=(ROOT_LABEL, ()))


# --------------------------------------------------------------------------- render


def _escape(text: str) -> str:
    text = _XML_INVALID_CHARS.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_response(action: str, skills: list[str] | tuple[str, ...], think: str = "") -> str:
    """The canonical response text for an action, skills and optional reasoning.

    Text is XML-escaped; characters XML 1.0 forbids are dropped. Skills are written as given
    (the parser normalizes them), except blank ones (empty after normalization), which are left
    out. ``parse_response(render_response(a, s, t))`` is valid whenever ``a`` and at least one
    skill are non-blank.
    """
    if not isinstance(action, str) or not isinstance(think, str):
        raise TypeError("render_response: action and think must be strings")
    if isinstance(skills, str) or not all(isinstance(s, str) for s in skills):
        raise TypeError("render_response: skills must be a list of strings")
    escaped = (_escape(s) for s in skills)
    skill_xml = "".join(f"<skill>{s}</skill>" for s in escaped if normalize_skill(s))
    return (
        f"<think>{_escape(think)}</think>\n"
        f"<answer><action>{_escape(action)}</action><skills>{skill_xml}</skills></answer>"
    )


# --------------------------------------------------------------------------- element tree


class _El:
    """A parsed element: its tag as written, whether it had attributes, and its content
    (text chunks and child elements, in document order)."""

    __slots__ = ("tag", "has_attrs", "children", "content")

    def __init__(self, tag: str, has_attrs: bool = False):
        self.tag = tag
        self.has_attrs = has_attrs
        self.children: list[_El] = []
        self.content: list[str | _El] = []

    def direct_text(self) -> str:
        return "".join(c for c in self.content if isinstance(c, str))

    def all_text(self) -> str:
        """Text of the element and its descendants in document order, children set apart by spaces."""
        parts: list[str] = []
        stack: list[str | _El] = [self]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                parts.append(item)
            else:
                parts.append(" ")
                stack.extend(reversed(item.content))
        return "".join(parts)

    def iter(self):
        """This element and its descendants, depth first in document order."""
        stack = [self]
        while stack:
            el = stack.pop()
            yield el
            stack.extend(reversed(el.children))


class _Builder:
    """Builds an ``_El`` tree from start/end/text events, enforcing the depth and size limits."""

    def __init__(self, errors: list[str]):
        self.root = _El(ROOT_LABEL)
        self.stack: list[_El] = [self.root]
        self.skipped_depth = 0  # open elements dropped for being too deep
        self.count = 0
        self.errors = errors
        self._reported_depth = False
        self._reported_count = False

    def start(self, tag: str, has_attrs: bool) -> None:
        if self.skipped_depth or len(self.stack) > MAX_DEPTH or self.count >= MAX_ELEMENTS:
            if len(self.stack) > MAX_DEPTH and not self._reported_depth:
                self.errors.append(f"elements nested deeper than {MAX_DEPTH} were dropped")
                self._reported_depth = True
            elif self.count >= MAX_ELEMENTS and not self._reported_count:
                self.errors.append(f"more than {MAX_ELEMENTS} elements; the rest were dropped")
                self._reported_count = True
            self.skipped_depth += 1
            return
        el = _El(tag, has_attrs)
        self.count += 1
        self.stack[-1].children.append(el)
        self.stack[-1].content.append(el)
        self.stack.append(el)

    def end(self) -> None:
        if self.skipped_depth:
            self.skipped_depth -= 1
        elif len(self.stack) > 1:
            self.stack.pop()

    def text(self, data: str) -> None:
        if not self.skipped_depth and data:
            self.stack[-1].content.append(data)


# --------------------------------------------------------------------------- strict (expat)


class _Refused(Exception):
    pass


def _refuse(*_args) -> None:
    raise _Refused("declarations are not allowed")


def _parse_strict(text: str) -> tuple[_El | None, list[str], str | None]:
    """Parse with expat; returns (root, errors, fatal message or None)."""
    errors: list[str] = []
    b = _Builder(errors)
    p = expat.ParserCreate()
    p.buffer_text = True
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    for handler in (
        "StartDoctypeDeclHandler",
        "EntityDeclHandler",
        "UnparsedEntityDeclHandler",
        "NotationDeclHandler",
        "ElementDeclHandler",
        "AttlistDeclHandler",
    ):
        setattr(p, handler, _refuse)
    p.ExternalEntityRefHandler = lambda *a: 0  # never resolve: expat reports an error
    depth = [0]

    def start(name, attrs):
        depth[0] += 1
        if depth[0] > 1:
            b.start(name, bool(attrs))

    def end(name):
        if depth[0] > 1:
            b.end()
        depth[0] -= 1

    def chars(data):
        if depth[0] >= 1:
            b.text(data)

    def pi(target, data):
        errors.append(f"processing instruction <?{target}?> is not part of the format")

    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = chars
    p.ProcessingInstructionHandler = pi
    prefix = f"<{_WRAP}>"
    try:
        p.Parse(f"{prefix}{text}</{_WRAP}>", True)
    except expat.ExpatError as e:
        line, col = e.lineno, e.offset
        if line == 1:
            col = max(0, col - len(prefix))
        return None, errors, f"not well-formed XML: {expat.ErrorString(e.code)} (line {line}, column {col + 1})"
    except _Refused:
        return None, errors, "a DOCTYPE or entity declaration is not allowed"
    except RecursionError:  # pragma: no cover - expat does not recurse; defensive
        return None, errors, "nesting too deep"
    return b.root, errors, None


# --------------------------------------------------------------------------- tolerant scanner

_TOKEN = re.compile(
    r"""
    (?P<comment><!--.*?(?:-->|\Z))
  | (?P<cdata><!\[CDATA\[(?P<cdata_body>.*?)(?:\]\]>|\Z))
  | (?P<decl><![^>]*(?:>|\Z))
  | (?P<pi><\?.*?(?:\?>|\Z))
  | </\s*(?P<end>[^\W\d][\w.\-:]*)\s*>
  | <(?P<start>[^\W\d][\w.\-:]*)(?P<attrs>(?:\s[^<>]*?)?)\s*(?P<selfclose>/?)>
    """,
    re.S | re.X,
)
_REF = re.compile(r"&(?:#(\d{1,7})|#x([0-9a-fA-F]{1,6})|(lt|gt|amp|quot|apos));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


def _unescape(text: str) -> str:
    """Decode the five XML entities and character references; anything else stays literal."""

    def sub(m: re.Match) -> str:
        if m.group(3):
            return _NAMED[m.group(3)]
        code = int(m.group(1)) if m.group(1) else int(m.group(2), 16)
        if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            return chr(code)
        return m.group(0)

    return _REF.sub(sub, text)


def _parse_tolerant(text: str, errors: list[str]) -> _El:
    b = _Builder(errors)
    open_tags: list[str] = []  # lower-cased tags of the open (kept or dropped) elements

    def close_top(reason: str) -> None:
        errors.append(f"<{open_tags[-1]}> was not closed {reason}")
        open_tags.pop()
        b.end()

    pos = 0
    for m in _TOKEN.finditer(text):
        if m.start() > pos:
            b.text(_unescape(text[pos : m.start()]))
        pos = m.end()
        if m.group("comment") is not None:
            continue
        if m.group("cdata") is not None:
            b.text(m.group("cdata_body"))
        elif m.group("decl") is not None:
            errors.append(f"markup declaration ignored: {m.group('decl')[:40]!r}")
        elif m.group("pi") is not None:
            errors.append(f"processing instruction ignored: {m.group('pi')[:40]!r}")
        elif m.group("end") is not None:
            tag = m.group("end").lower()
            if tag in open_tags:
                while open_tags[-1] != tag:
                    close_top(f"before </{tag}>")
                open_tags.pop()
                b.end()
            else:
                errors.append(f"stray end tag </{m.group('end')}> skipped")
        else:
            tag = m.group("start").lower()
            # A leaf element cannot hold elements: a start tag inside one closes it.
            while open_tags and open_tags[-1] in _LEAVES:
                close_top(f"before <{tag}>")
            b.start(m.group("start"), bool(m.group("attrs").strip()))
            if m.group("selfclose"):
                b.end()
            else:
                open_tags.append(tag)
    if pos < len(text):
        b.text(_unescape(text[pos:]))
    while open_tags:
        close_top("at the end")
    return b.root


# --------------------------------------------------------------------------- grammar + fields


def _preview(s: str) -> str:
    s = _WS.sub(" ", s.strip())
    return repr(s[:40] + ("..." if len(s) > 40 else ""))


def _check_grammar(root: _El) -> list[str]:
    """Every rule of the format that the element tree breaks (see the module docstring)."""
    errs: list[str] = []

    def only_text(el: _El) -> None:
        if el.children:
            errs.append(f"<{el.tag}> must hold text only, found <{el.children[0].tag}>")

    def no_text(el: _El, where: str) -> None:
        t = el.direct_text()
        if t.strip():
            errs.append(f"text outside the elements {where}: {_preview(t)}")

    for el in root.iter():
        if el.has_attrs:
            errs.append(f"<{el.tag}> has attributes; the format has none")
    no_text(root, "at the top level")
    tags = [c.tag for c in root.children]
    if tags not in (["answer"], ["think", "answer"]):
        errs.append(f"the top level must be an optional <think> and one <answer>, found {_tag_list(tags)}")
    for el in root.children:
        if el.tag == "think":
            only_text(el)
        elif el.tag == "answer":
            no_text(el, "in <answer>")
            sub = [c.tag for c in el.children]
            if sub != ["action", "skills"]:
                errs.append(f"<answer> must hold <action> then <skills>, found {_tag_list(sub)}")
            for c in el.children:
                if c.tag == "action":
                    only_text(c)
                    if not c.all_text().strip():
                        errs.append("<action> is empty")
                elif c.tag == "skills":
                    no_text(c, "in <skills>")
                    if not c.children:
                        errs.append("<skills> holds no <skill>")
                    for s in c.children:
                        if s.tag != "skill":
                            errs.append(f"<skills> may hold only <skill>, found <{s.tag}>")
                        else:
                            only_text(s)
                            if not normalize_skill(s.all_text()):
                                errs.append("a <skill> is empty")
    return errs


def _tag_list(tags: list[str]) -> str:
    return " ".join(f"<{t}>" for t in tags) if tags else "nothing"


def _find(el: _El, tag: str) -> _El | None:
    for e in el.iter():
        if e is not el and e.tag.lower() == tag:
            return e
    return None


def _extract(root: _El, errors: list[str]) -> tuple[str, tuple[str, ...], str]:
    answer = _find(root, "answer")
    action_el = (answer and _find(answer, "action")) or _find(root, "action")
    action = _WS.sub(" ", action_el.all_text()).strip() if action_el else ""
    think_el = _find(root, "think")
    think = think_el.all_text().strip() if think_el else ""
    skills_el = (answer and _find(answer, "skills")) or _find(root, "skills")
    scope = skills_el if skills_el is not None else root
    raw = [e.all_text() for e in scope.iter() if e is not scope and e.tag.lower() == "skill"]
    if not raw and skills_el is not None and skills_el.all_text().strip():
        raw = _SKILL_SPLIT.split(skills_el.all_text())
        errors.append("<skills> holds plain text; split it at commas, semicolons and new lines")
    if action_el is None:
        errors.append("no <action> element found")
    if not raw:
        errors.append("no <skill> element found")
    return action, tuple(normalize_skills(raw)), think


def _to_tree(el: _El) -> Tree:
    # Depth is bounded by MAX_DEPTH, so recursion is safe.
    return (el.tag.lower(), tuple(_to_tree(c) for c in el.children))


_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_response(text: object) -> ParsedResponse:
    """Parse one model output into a :class:`ParsedResponse`; never raises.

    Non-string input (e.g. ``None`` for a failed generation) is read as empty text and
    reported. See the module docstring for the format, the safety rules and the recovery.
    """
    errors: list[str] = []
    if not isinstance(text, str):
        errors.append(f"output is not text ({type(text).__name__}); read as empty")
        text = ""
    if len(text) > MAX_RESPONSE_CHARS:
        errors.append(f"output longer than {MAX_RESPONSE_CHARS} characters; cut to that length")
        text = text[:MAX_RESPONSE_CHARS]
    clean = _SURROGATE.sub("\ufffd", text)
    if clean != text:  # lone surrogates cannot be encoded for the XML parser
        errors.append("output holds unpaired surrogate code points; replaced by U+FFFD")
        text = clean
    if not text.strip():
        errors.append("output is empty")
        return ParsedResponse("", (), "", False, tuple(errors), (ROOT_LABEL, ()))
    root, strict_errors, fatal = _parse_strict(text)
    if root is None:
        errors.append(fatal or "not well-formed XML")
        root = _parse_tolerant(text, errors)
    errors.extend(strict_errors)
    errors.extend(_check_grammar(root))
    action, skills, think = _extract(root, errors)
    errors = list(dict.fromkeys(errors))  # drop repeats, keep order
    return ParsedResponse(action, skills, think, not errors, tuple(errors), _to_tree(root))
