"""Checksums that let a saved state refuse a flipped bit (no numpy, no torch).

A state dict or file that carries generator states also carries
``digest(...)`` of them; on load the digest is recomputed and a mismatch is a
:class:`~replay_sampler.core.CorruptStateError` naming the file or key --
never a resume from a damaged state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from ._errors import CorruptStateError

#: Recorded beside the digest, so a later algorithm can be told apart.
ALGORITHM = "sha256"


def digest(parts: Iterable[bytes | None]) -> str:
    """A hex digest of ``parts`` in order (``None`` counts as absent, and is
    told apart from empty bytes)."""
    h = hashlib.sha256()
    for part in parts:
        if part is None:
            h.update(b"\x00")
        else:
            h.update(b"\x01" + len(part).to_bytes(8, "little") + part)
    return h.hexdigest()


def verify(parts: Iterable[bytes | None], expected: object, name: str) -> None:
    """Raise :class:`CorruptStateError` unless ``digest(parts) == expected``."""
    if not isinstance(expected, str):
        raise CorruptStateError(
            f"{name} must be a {ALGORITHM} hex digest, got {type(expected).__name__}"
        )
    if digest(parts) != expected:
        raise CorruptStateError(
            f"{name} does not match the generator states it covers: the state was "
            "changed or damaged after it was saved (a flipped bit, a partial write); "
            "refusing to resume from it"
        )
