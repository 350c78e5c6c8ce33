"""Checkpoint files: written atomically, read safely, recognised by layout.

* :func:`save_checkpoint` writes a file so that a kill at any moment leaves
  either the old file or the new one, never a partial one.
* :func:`load_checkpoint` reads with ``torch.load(weights_only=True)``,
  allowing exactly the numpy types ``np.random.get_state()`` pickles, and
  turns a truncated or damaged file into one
  :class:`~replay_sampler.CorruptStateError` that names it.
* :func:`rng_states` finds the generator states a checkpoint saved, in the
  layouts in use: the write-up's keys (``torch_rng_state``,
  ``numpy_rng_state``, ``python_rng_state``, ``cuda_rng_state_all``),
  Hugging Face Trainer's ``rng_state.pth`` (``python``, ``numpy``, ``cpu``,
  ``cuda``), a Lightning checkpoint (states a module or callback added), and
  the files :meth:`States.save <replay_sampler.States.save>` writes.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import pickle
import tempfile
import zipfile
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from ..core._errors import CorruptStateError, ForeignStateError

#: The write-up's keys, as every layout is translated to them.
RNG_KEYS = ("torch_rng_state", "numpy_rng_state", "python_rng_state", "cuda_rng_state_all")
#: Hugging Face Trainer's ``rng_state.pth`` keys, and the write-up's names for them.
HF_KEYS = {"cpu": "torch_rng_state", "numpy": "numpy_rng_state", "python": "python_rng_state",
           "cuda": "cuda_rng_state_all"}
#: Key of the replay_sampler metadata in a :class:`States` file.
OWN_META_KEY = "replay_sampler"


def _numpy_safe_globals() -> list[Any]:
    """Exactly what unpickling an ``np.random.get_state()`` tuple needs: a
    uint32 ndarray (written by numpy 2 or numpy 1)."""
    reconstruct = np.zeros(1).__reduce__()[0]
    return [
        reconstruct,
        (reconstruct, "numpy.core.multiarray._reconstruct"),  # files written under numpy 1
        np.ndarray,
        np.dtype,
        type(np.dtype(np.uint32)),  # numpy.dtypes.UInt32DType (numpy 2)
    ]


@contextlib.contextmanager
def _safe_numpy() -> Iterator[None]:
    with torch.serialization.safe_globals(_numpy_safe_globals()):
        yield


def _fsync_folder(folder: pathlib.Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems that refuse a folder fsync
        pass
    finally:
        os.close(fd)


def save_checkpoint(obj: Any, path: str | os.PathLike[str]) -> None:
    """``torch.save(obj, path)``, atomically: a kill or a full disk at any
    moment leaves ``path`` as it was or complete, never partial.

    The object is written to a temporary file in ``path``'s folder, flushed
    and ``fsync``-ed, then renamed over ``path`` with ``os.replace`` (atomic
    on POSIX and Windows), and the folder is ``fsync``-ed so the rename
    survives a power cut.  If anything fails the temporary file is removed
    and the old ``path`` is untouched; the error is raised.  ``path`` must be
    a file name in an existing folder (``FileNotFoundError`` otherwise,
    ``IsADirectoryError`` for a folder).
    """
    target = pathlib.Path(os.fspath(path))
    folder = target.parent if str(target.parent) else pathlib.Path(".")
    if target.is_dir():
        raise IsADirectoryError(f"path is a folder, not a checkpoint file: {target}")
    if not folder.is_dir():
        raise FileNotFoundError(f"path's folder does not exist: {folder}")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


def _sniff(path: pathlib.Path) -> str:
    """What the file looks like: "zip", "pickle", "empty", or a description."""
    with open(path, "rb") as f:
        head = f.read(64)
    if not head:
        return "empty"
    if head.startswith(b"PK") or b"PK\x03\x04".startswith(head):
        return "zip"
    if head[:1] == b"\x80":  # a pickle protocol marker (torch's legacy format)
        return "pickle"
    text = head.lstrip()
    if text[:1] in (b"{", b"["):
        return "JSON or other text, not a torch file"
    if all(32 <= c < 127 or c in (9, 10, 13) for c in head):
        return f"text ({head[:20]!r}...), not a torch file"
    return f"bytes that are no torch file (it starts {head[:8]!r})"


def load_checkpoint(path: str | os.PathLike[str], map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)`` with clear errors.

    Safe loading only: tensors, containers, numbers and strings, plus exactly
    the numpy types a ``np.random.get_state()`` tuple needs -- never
    ``weights_only=False``.  Raises ``FileNotFoundError`` for a missing file,
    ``IsADirectoryError`` for a folder, :class:`CorruptStateError`
    ("truncated or corrupt checkpoint: PATH") for a torch file that is cut
    short or damaged, :class:`ForeignStateError` for a file that is not a
    torch file at all or holds objects safe loading refuses.  Both are
    ``ValueError``\\ s.
    """
    p = pathlib.Path(os.fspath(path))
    if p.is_dir():
        raise IsADirectoryError(f"{p} is a folder, not a checkpoint file")
    if not p.is_file():
        raise FileNotFoundError(f"no such checkpoint file: {p}")
    kind = _sniff(p)
    if kind == "empty":
        raise CorruptStateError(f"truncated or corrupt checkpoint: {p} (the file is empty)")
    if kind not in ("zip", "pickle"):
        raise ForeignStateError(f"not a checkpoint: {p} holds {kind}")
    try:
        with _safe_numpy():
            return torch.load(p, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if any(sign in text for sign in ("Unsupported global", "Can only build", "allowlisted")):
            found = next((line.strip() for line in text.splitlines()
                          if "Unsupported global" in line or "but got" in line), "")
            raise ForeignStateError(
                f"{p} holds objects that safe loading (weights_only=True) refuses"
                + (f" ({found})" if found else "")
                + "; replay_sampler reads tensors, containers, numbers and numpy RNG states only"
            ) from None
        detail = text.splitlines()[-1].strip() if text.strip() else "unpickling failed"
        raise CorruptStateError(f"truncated or corrupt checkpoint: {p} ({detail[:200]})") from exc
    except (EOFError, RuntimeError, OSError, zipfile.BadZipFile, ValueError, KeyError,
            IndexError, TypeError) as exc:
        detail = str(exc).splitlines()[0].split(". ")[0] if str(exc) else type(exc).__name__
        raise CorruptStateError(f"truncated or corrupt checkpoint: {p} ({detail})") from exc


def _found(data: Any) -> str:
    if isinstance(data, torch.Tensor):
        return f"a tensor of shape {tuple(data.shape)}"
    return f"a {type(data).__name__}"


def rng_states(data: Any, name: str = "checkpoint") -> tuple[str, dict[str, Any]]:
    """The layout of a loaded checkpoint and the generator states it saved,
    under the write-up's keys (:data:`RNG_KEYS`; absent keys: not saved).

    Raises :class:`ForeignStateError` when ``data`` is not a checkpoint dict.
    """
    if not isinstance(data, dict):
        raise ForeignStateError(f"{name} holds {_found(data)}, not a checkpoint dict")
    meta = data.get(OWN_META_KEY)
    if isinstance(meta, dict) and meta.get("kind") == "replay_sampler.reconstruction":
        return "replay_sampler reconstruction", _pick(data, RNG_KEYS)
    if "pytorch-lightning_version" in data or "lightning_version" in data:
        return _lightning(data)
    if any(key in data for key in RNG_KEYS):
        return "write-up keys", _pick(data, RNG_KEYS)
    if "cpu" in data and ("numpy" in data or "python" in data):
        states = {ours: data[theirs] for theirs, ours in HF_KEYS.items() if data.get(theirs) is not None}
        cuda = states.get("cuda_rng_state_all")
        if isinstance(cuda, torch.Tensor):  # Trainer saves one device's state outside DDP
            states["cuda_rng_state_all"] = [cuda]
        return "Hugging Face rng_state.pth", states
    return "no RNG state", {}


def _pick(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: data[key] for key in keys if data.get(key) is not None}


def _lightning(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Lightning saves no generator state itself; a module's
    ``on_save_checkpoint`` may add the write-up's keys at the top level, a
    callback's ``state_dict`` under ``checkpoint["callbacks"][key]``."""
    states = _pick(data, RNG_KEYS)
    if not states:
        callbacks = data.get("callbacks")
        for key, value in (callbacks.items() if isinstance(callbacks, dict) else ()):
            if isinstance(value, dict):
                _, states = rng_states({k: v for k, v in value.items()}, f"callbacks[{key!r}]")
                if states:
                    return f"Lightning checkpoint (callback {key})", states
    return "Lightning checkpoint", states
