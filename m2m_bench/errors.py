"""Exceptions with messages meant for people: each names the file, record or value at fault.

The CLI prints the message of any :class:`M2MError` and exits non-zero without a traceback.
"""


class M2MError(Exception):
    """Base class of every error m2m-bench raises on purpose."""


class DatasetNotFound(M2MError):
    """An unknown dataset name, version, split or path."""


class ChecksumError(M2MError):
    """A shipped file does not match its manifest (tampered or corrupted)."""


class VersionExists(M2MError):
    """Dataset versions are immutable: a released version folder is never rewritten."""
