"""The leaderboard's error type: every rejected submission raises it with a message for people."""

from __future__ import annotations

from ..errors import M2MError


class SubmissionError(M2MError):
    """A submission that cannot be read, validated, scored or stored.

    The message names the submission (folder or archive), the member file and, where it
    applies, the line, record id and field at fault. Nothing is stored when it is raised.
    """
