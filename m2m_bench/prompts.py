"""The canonical M2M prompt, defined once: a system message and a user message.

Every generating model (``smollm2``, ``hf:``, ``openai:``), the lm-eval task YAMLs and the GRPO
trainer build their chat prompt with :func:`build_messages`; the answer format it asks for is
:data:`m2m_bench.response.FORMAT_INSTRUCTIONS` (parsed by
:func:`m2m_bench.response.parse_response`). The prompt is zero-shot: it names the task the
way Motion-R1 frames it (infer the latent physical intent behind a dialogue or scene, then the
motion skills that realise it) without examples.

:data:`PROMPT_VERSION` identifies the wording; it enters results files and the generation
cache key, so a change here must bump it.
"""

from __future__ import annotations

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
