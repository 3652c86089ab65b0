"""The ``m2m-bench`` command: ``m2m-bench VERB [args]`` runs ``python -m m2m_bench.VERB``.

Each verb is a module with ``main(argv: list[str] | None) -> int``; verbs are imported only
when called, so ``m2m-bench data info`` does not load torch.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

from .errors import M2MError

#: verb -> (module, one-line help). New verbs register here.
VERBS: dict[str, tuple[str, str]] = {
    "data": ("m2m_bench.data.cli", "inspect, validate, verify, release and push dataset versions"),
    "evaluate": ("m2m_bench.evaluate", "score a model on M2M / GSM8K with the harness"),
    "construct": ("m2m_bench.construct.cli", "build a dataset version with the ERA-CoT pipeline"),
    "submit": ("m2m_bench.submit", "validate a leaderboard submission locally"),
    "leaderboard": ("m2m_bench.leaderboard", "add submissions and build the static leaderboard"),
}


def _usage() -> str:
    lines = ["usage: m2m-bench VERB [args...]", "", "verbs:"]
    lines += [f"  {v:<12} {h}" for v, (_, h) in VERBS.items()]
    lines += ["", "Run `m2m-bench VERB --help` for a verb's options."]
    return "\n".join(lines)


def run_main(fn: Callable[[list[str] | None], int], argv: list[str] | None) -> int:
    """Run a verb's ``main``, turning :class:`M2MError` into one clear line and exit code 2."""
    try:
        return int(fn(argv) or 0)
    except M2MError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        from . import __version__

        print(f"m2m-bench {__version__}")
        return 0
    verb, rest = argv[0], argv[1:]
    if verb not in VERBS:
        print(f"error: unknown verb {verb!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name = VERBS[verb][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and module_name.startswith(e.name):
            print(f"error: `{verb}` is not available in this version of m2m-bench", file=sys.stderr)
            return 2
        raise
    return run_main(module.main, rest)


if __name__ == "__main__":
    sys.exit(main())
