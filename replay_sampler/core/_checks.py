"""Argument checks and the small shared rules of counting (no numpy, no torch).

Every public function and every saved-state loader validates its input with
these, so a rule reads the same wherever it is broken: the message names the
argument, the value and what was expected.  One wording per rule:

* an integer: "NAME must be an integer, got VALUE (type T)";
* a non-negative integer: "NAME must be a non-negative integer, got ...";
* an integer with another lower bound: "NAME must be an integer >= K, got V";
* a bool: "NAME must be a bool, got VALUE (type T)";
* a non-negative multiple: "NAME must be a non-negative multiple of K, got V";
* one count per item: "NAME must be a list or tuple of ..., got VALUE (type T)".

``bool`` is never taken for an integer, although Python says it is one.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any

from ._errors import CorruptStateError, ForeignStateError


def _type_error(name: str, expected: str, value: Any) -> TypeError:
    return TypeError(f"{name} must be {expected}, got {value!r} (type {type(value).__name__})")


def is_integer(value: Any) -> bool:
    """True for ints and other ``__index__`` types (numpy integers), never for bools."""
    return not isinstance(value, bool) and hasattr(type(value), "__index__")


def integer(value: Any, name: str, minimum: int | None = None) -> int:
    """``value`` as an int (``operator.index``), at least ``minimum`` if given."""
    if type(value) is int and (minimum is None or value >= minimum):
        return value  # the common case, asked at every epoch
    expected = (
        "an integer" if minimum is None
        else "a non-negative integer" if minimum == 0
        else f"an integer >= {minimum}"
    )
    if not is_integer(value):
        raise _type_error(name, expected, value)
    v = operator.index(value)
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be {expected}, got {v}")
    return v


def count(value: Any, name: str = "draws") -> int:
    """A number of draws (or another count): a non-negative integer."""
    return integer(value, name, 0)


def multiple(value: Any, name: str, step: int) -> int:
    """A non-negative integer divisible by ``step`` (a CUDA Philox offset: 4)."""
    v = integer(value, name, 0)
    if v % step:
        raise ValueError(f"{name} must be a non-negative multiple of {step}, got {v}")
    return v


def counts(value: Any, name: str, step: int = 1) -> tuple[int, ...]:
    """One count per item (per CUDA device, say): a list or tuple of
    non-negative integers, each a multiple of ``step``; returned as a tuple."""
    what = "non-negative integers" if step == 1 else f"non-negative multiples of {step}"
    if not isinstance(value, (tuple, list)):
        raise _type_error(name, f"a list or tuple of {what}", value)
    return tuple(multiple(v, f"{name}[{i}]", step) for i, v in enumerate(value))


def boolean(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise _type_error(name, "a bool", value)
    return value


def one_of(value: Any, name: str, choices: Sequence[Any]) -> Any:
    """``value`` if it is one of ``choices``."""
    if value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}"
        )
    return value


def stride(value: Any, name: str = "draws_per_epoch") -> int | tuple[int, int]:
    """Draws per epoch: a non-negative int, or ``(first_epoch, later_epochs)``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(
                f"{name} must be a non-negative integer or a (first_epoch, later_epochs) "
                f"pair, got a sequence of {len(value)}"
            )
        return (integer(value[0], f"{name}[0]", 0), integer(value[1], f"{name}[1]", 0))
    if not is_integer(value):
        raise _type_error(
            name, "a non-negative integer or a (first_epoch, later_epochs) pair", value
        )
    return integer(value, name, 0)


def draws_to_epoch(per_epoch: int | tuple[int, int], epochs: int) -> int:
    """Draws from the start of the first epoch to the start of epoch ``epochs``
    (counted from it), with ``per_epoch`` an int or a ``(first, later)`` pair."""
    if epochs == 0:
        return 0
    if isinstance(per_epoch, tuple):
        first, later = per_epoch
        return first + (epochs - 1) * later
    return epochs * per_epoch


def state_header(state: Any, kind: str, version: int, required: tuple[str, ...],
                 name: str = "state_dict") -> dict[str, Any]:
    """Check a saved state's ``kind`` and ``version`` (else
    :class:`ForeignStateError`) and keys (else :class:`CorruptStateError`);
    return a copy."""
    if not isinstance(state, Mapping):
        raise TypeError(f"{name} must be a dict, got {type(state).__name__}")
    if state.get("kind") != kind:
        raise ForeignStateError(f"{name}['kind'] must be {kind!r}, got {state.get('kind')!r}")
    if state.get("version") != version:
        raise ForeignStateError(
            f"{name} has format version {state.get('version')!r}; this replay_sampler reads "
            f"version {version}"
        )
    missing = [key for key in required if key not in state]
    if missing:
        raise CorruptStateError(f"{name} lacks {', '.join(repr(key) for key in missing)}")
    return dict(state)
