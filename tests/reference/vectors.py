"""Loading recorded reference vectors, with errors that say what is wrong.

``load(path)`` returns a vector file's document after checking that it is a
``record_release.py`` file of the current format, that it names the release
its file name names, and that it holds exactly the scenarios of
``record_release.SCENARIOS`` -- so a corrupt file, a file from an older or
newer scenario list, or a renamed file fails with a message instead of
letting checks pass or fail for the wrong reason.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

from tests.reference import record_release as rr

VECTORS = pathlib.Path(__file__).resolve().parent / "vectors"
FILES = sorted(VECTORS.glob("torch-*.json"))


class VectorFileError(ValueError):
    """A reference vector file that cannot be used as one."""


def release_of(path: pathlib.Path) -> str:
    """``"2.6.0"`` for ``torch-2.6.0.json``."""
    name = path.name
    if not (name.startswith("torch-") and name.endswith(".json")):
        raise VectorFileError(f"{path}: a vector file is named torch-<release>.json, got {name!r}")
    return name[len("torch-"):-len(".json")]


def load(path: pathlib.Path | str) -> dict[str, Any]:
    """The document in ``path``, validated (see the module docstring)."""
    path = pathlib.Path(path)
    release = release_of(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VectorFileError(f"{path}: not a readable JSON vector file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != rr.FORMAT:
        got = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise VectorFileError(f"{path}: format must be {rr.FORMAT!r}, got {got!r}")
    if data.get("version") != rr.FORMAT_VERSION:
        raise VectorFileError(
            f"{path}: format version must be {rr.FORMAT_VERSION}, got {data.get('version')!r}"
        )
    torch_field = data.get("torch")
    if not isinstance(torch_field, str) or torch_field.split("+")[0] != release:
        raise VectorFileError(
            f"{path}: the file name says torch {release}, the file says {torch_field!r}"
        )
    scenarios = data.get("scenarios")
    if not isinstance(scenarios, dict):
        raise VectorFileError(f"{path}: 'scenarios' must be an object, got {type(scenarios).__name__}")
    missing = sorted(set(rr.SCENARIOS) - set(scenarios) - set(data.get("skipped") or ()))
    unknown = sorted(set(scenarios) - set(rr.SCENARIOS))
    if missing or unknown:
        raise VectorFileError(
            f"{path}: recorded from another scenario list than record_release.SCENARIOS "
            f"(missing: {missing or 'none'}; not in the list: {unknown or 'none'}); record it again"
        )
    return data


def release_tuple(release: str) -> tuple[int, int]:
    major, minor = release.split(".")[:2]
    return int(major), int(minor)
