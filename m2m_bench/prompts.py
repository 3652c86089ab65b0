"""The canonical M2M prompt, defined once: a system message, a user message and an optional
response prefix.

Every generating model (``smollm2``, ``hf:``, ``openai:``), the lm-eval task YAMLs and the GRPO
trainer build their chat prompt with :func:`build_messages`; the answer format it asks for is
:data:`m2m_bench.response.FORMAT_INSTRUCTIONS` (parsed by
:func:`m2m_bench.response.parse_response`). The prompt is zero-shot: it names the task the
way Motion-R1 frames it (infer the latent physical intent behind a dialogue or scene, then the
motion skills that realise it) without examples.

Response prefix (assistant-turn prefill)
----------------------------------------
A :class:`ResponsePrefix` is text the assistant turn starts with: the chat template is rendered
with its generation prompt (the assistant header), the prefix is appended, the model continues
from there, and the scored output is ``prefix + continuation``. Small instruction models that
never start the XML answer on their own (SmolLM2-135M-Instruct writes prose, or copies the
format's placeholders) at least enter the format this way. :data:`RESPONSE_PREFIXES` holds the
choices (``--response-prefix`` of ``python -m m2m_bench.evaluate``):

* ``none``: no prefill (the default for every model except ``smollm2``);
* ``answer``: the turn starts with ``<answer><action>`` and generation stops after the model
  writes ``</answer>``, which is kept (the default for ``smollm2``).

The ``answer`` prefix carries format only, no content: it skips the optional ``<think>`` and
opens the action element exactly as :data:`~m2m_bench.response.FORMAT_INSTRUCTIONS` lays it
out. It deliberately does not begin the sentence with "a person", although nearly every
reference action does: that phrase alone scores ``action.ss`` about 0.37 on the 0.1.0
validation and test splits
(more than SmolLM2's own sentences), so it would hand every model free credit.

Only backends that render the chat template themselves can prefill (``hf:`` and ``smollm2``).
OpenAI-compatible servers start a new assistant turn after a trailing assistant message
(``transformers serve`` 5.x does; it answers HTTP 500 to ``continue_final_message`` in
``chat_template_kwargs`` and 422 to the top-level ``continue_final_message`` field vLLM
takes), so
``openai:`` refuses a prefix with a clear error. GSM8K, the lm-eval task YAMLs and the GRPO
trainer never use one.

:data:`PROMPT_VERSION` identifies the wording; :func:`prompt_version` adds the prefix's name
and version when one is used. That string enters results files and the generation cache key,
so a change here must bump the matching version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import M2MError
from .response import FORMAT_INSTRUCTIONS, RESPONSE_FORMAT_VERSION

#: Version of the prompt wording (bump on any change to the texts below).
PROMPT_VERSION = f"m2m-prompt-1+format-{RESPONSE_FORMAT_VERSION}"

SYSTEM_PROMPT = (
    "You are a motion-reasoning assistant for a humanoid robot. You read a conversation or a "
    "scene, work out what a person in it needs to do physically, and name the motion skills "
    "that the movement is made of."
)

USER_TEMPLATE = (
    "Conversation:\n"
    "{conversation}\n\n"
    "What physical action would a person in this situation take next? State it as one "
    "sentence, then list the motion skills needed to perform it.\n\n"
    "{format_instructions}"
)


def user_message(conversation: str) -> str:
    """The user turn for one conversation (the conversation text is kept verbatim)."""
    if not isinstance(conversation, str):
        raise TypeError(f"conversation must be a string, got {type(conversation).__name__}")
    return USER_TEMPLATE.format(conversation=conversation.strip(), format_instructions=FORMAT_INSTRUCTIONS)


def build_messages(conversation: str, *, system: bool = True) -> list[dict[str, str]]:
    """The canonical chat prompt: ``[system, user]`` (``system=False`` drops the system turn
    for chat templates that reject one)."""
    msgs = [{"role": "user", "content": user_message(conversation)}]
    return ([{"role": "system", "content": SYSTEM_PROMPT}] + msgs) if system else msgs


# --------------------------------------------------------------------------- response prefix


@dataclass(frozen=True)
class ResponsePrefix:
    """An assistant-turn prefill: the answer starts with ``text``; the model writes the rest.

    ``name``     the ``--response-prefix`` choice;
    ``text``     what the assistant turn starts with ("" = no prefill);
    ``stop``     generation ends once the continuation contains this string, which is kept in
                 the output (it closes the answer, so cutting it would break the format);
                 ``None`` = no stop string;
    ``version``  bump on any change to ``text`` or ``stop`` (it enters the prompt version).
    """

    name: str
    text: str
    stop: str | None
    version: str

    @property
    def active(self) -> bool:
        """Whether this prefix changes generation at all (``none`` does not)."""
        return bool(self.text or self.stop)

    def complete(self, continuation: str) -> str:
        """The scored output: ``text + continuation``."""
        return self.text + continuation

    def identity(self) -> dict[str, Any] | None:
        """What the cache key and the results JSON record (``None`` for no prefix)."""
        if not self.active:
            return None
        return {"name": self.name, "text": self.text, "stop": self.stop, "version": self.version}


#: The ``--response-prefix`` choices (see the module docstring).
RESPONSE_PREFIXES: dict[str, ResponsePrefix] = {
    "none": ResponsePrefix("none", "", None, "0"),
    "answer": ResponsePrefix("answer", "<answer><action>", "</answer>", "1"),
}
NO_PREFIX = RESPONSE_PREFIXES["none"]


def get_response_prefix(prefix: str | ResponsePrefix | None) -> ResponsePrefix:
    """The :class:`ResponsePrefix` named ``prefix`` (``None`` -> ``none``)."""
    if isinstance(prefix, ResponsePrefix):
        return prefix
    if prefix is None:
        return NO_PREFIX
    try:
        return RESPONSE_PREFIXES[prefix]
    except (KeyError, TypeError):
        raise M2MError(
            f"unknown response prefix {prefix!r}; choose from {', '.join(RESPONSE_PREFIXES)}"
        ) from None


def prompt_version(prefix: str | ResponsePrefix | None = None) -> str:
    """:data:`PROMPT_VERSION`, plus ``+prefix-<name>-<version>`` when a prefix is used."""
    p = get_response_prefix(prefix)
    return f"{PROMPT_VERSION}+prefix-{p.name}-{p.version}" if p.active else PROMPT_VERSION
