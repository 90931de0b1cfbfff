"""Generate ``requirements.txt`` from ``pyproject.toml``.

Chalice reads dependencies only from ``requirements.txt``; the project declares them once, in
``[project].dependencies``. This module writes that list (runtime only, never the ``dev`` extra)
to ``requirements.txt`` and checks that the two agree::

    python -m pulse_local.requirements --write   # regenerate
    python -m pulse_local.requirements --check   # exit 1 when requirements.txt is stale
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
REQUIREMENTS = ROOT / "requirements.txt"

# `chalice package` copies its own runtime (chalice/app.py) into every zip by itself. Listing
# chalice in requirements.txt would add its command-line tool and that tool's dependencies (pip,
# setuptools, click, inquirer, PyYAML, …: about 5 MB zipped) to the Lambda package for nothing.
PROVIDED_BY_CHALICE = frozenset({"chalice"})

HEADER = (
    "# GENERATED from pyproject.toml [project].dependencies by `make requirements`\n"
    "# (python -m pulse_local.requirements --write). Do not edit by hand.\n"
    "# Chalice packages exactly these into the Lambda zip: runtime dependencies only.\n"
    "# chalice itself is left out: `chalice package` bundles its runtime into the zip.\n"
)


def runtime_dependencies(pyproject: Path = PYPROJECT) -> list[str]:
    """``[project].dependencies``, each required to be pinned with ``==``."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    deps = [str(d).strip() for d in data["project"]["dependencies"]]
    unpinned = [d for d in deps if "==" not in d]
    if unpinned:
        raise SystemExit(f"pin every runtime dependency in pyproject.toml (==): {unpinned}")
    return deps


def distribution_name(requirement: str) -> str:
    """``pyjwt[crypto]==2.15.1`` -> ``pyjwt`` (normalised as pip does)."""
    name = re.split(r"[\[=<>!~;\s]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def packaged_dependencies(pyproject: Path = PYPROJECT) -> list[str]:
    """What goes into requirements.txt: the runtime list minus what Chalice bundles itself."""
    return [
        dep
        for dep in runtime_dependencies(pyproject)
        if distribution_name(dep) not in PROVIDED_BY_CHALICE
    ]


def render(pyproject: Path = PYPROJECT) -> str:
    return HEADER + "".join(f"{dep}\n" for dep in packaged_dependencies(pyproject))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate requirements.txt")
    mode.add_argument("--check", action="store_true", help="exit 1 if requirements.txt is stale")
    args = parser.parse_args(argv)
    expected = render()
    if args.write:
        REQUIREMENTS.write_text(expected, encoding="utf-8")
        print(f"wrote {REQUIREMENTS.relative_to(ROOT)}")
        return 0
    current = REQUIREMENTS.read_text(encoding="utf-8") if REQUIREMENTS.exists() else ""
    if current != expected:
        print(
            "requirements.txt does not match pyproject.toml: run `make requirements`",
            file=sys.stderr,
        )
        return 1
    print("requirements.txt matches pyproject.toml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
