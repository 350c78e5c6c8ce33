"""The library's model of each recorded torch release, held against what that
release really drew (``tests/reference/vectors``, recorded by real torch).

Each checker takes one scenario's record and a profile and returns the
mismatches (empty: the library agrees with the release).  The library's
answers come from its draw accounting, ``reconstruct(Run(...))`` and the
sampler's ``torch_version=`` iteration on the installed torch; the
expectations only from the files.  Negative controls run a checker under a
release whose rules differ and require mismatches.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader

from replay_sampler import (
    Draws,
    Loader,
    ReplayableRandomSampler,
    Run,
    Split,
    reconstruct,
    replayable_random_split,
)
from replay_sampler.core import (
    MT19937State,
    TorchCPUState,
    TorchProfile,
    bernoulli_draws,
    dropout_draws,
    generator_states_at,
    rand_draws,
    randint_draws,
    random_draws,
    random_sampler_draws,
    random_split_draws,
    randperm_draws,
)
from tests.reference import record_release as rr
from tests.reference import vectors
from tests.sampler_runs import Indices

RELEASES = {vectors.release_of(p): p for p in vectors.FILES}
Problems = list[str]


def _sha_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _sha_json(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, separators=(",", ":")).encode()).hexdigest()


def _state_sha(seed: int, draws: int) -> str:
    """sha of the state ``manual_seed(seed)`` and ``draws`` draws leave, from the core's model."""
    return _sha_bytes(TorchCPUState.fresh(seed, MT19937State.from_seed(seed).advance(draws)).raw)


def _compare(problems: Problems, key: str, expected: Any, got: Callable[[], Any]) -> None:
    """Record a mismatch; a library error where the release succeeded is one too."""
    try:
        value = got()
    except (ValueError, TypeError) as exc:
        problems.append(f"{key}: recorded {expected!r}, the library raised {exc}")
        return
    if value != expected:
        problems.append(f"{key}: recorded {expected!r}, the library says {value!r}")


def _refused(problems: Problems, key: str, rec: dict[str, Any], call: Callable[[], Any]) -> bool:
    """For a call the release refused: the library must refuse it too.  True if refused."""
    if "error" not in rec:
        return False
    try:
        value = call()
    except ValueError:
        return True
    problems.append(f"{key}: the release refused it ({rec['error']}), the library says {value!r}")
    return True


def _check_draws(problems: Problems, key: str, rec: dict[str, Any],
                 call: Callable[[], int]) -> None:
    """A recorded single-op count: refused where the release refused it, else equal."""
    if not _refused(problems, key, rec, call):
        _compare(problems, key, rec["draws"], call)


def _unmatched(problems: Problems, key: str) -> None:
    problems.append(f"{key}: no check knows this key (add one, or list it with a reason)")


# -- single operations -------------------------------------------------------------

def check_randperm(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    problems: Problems = []
    for key, r in rec.items():
        m = re.fullmatch(r"(\d+)(_generator|_int32)?", key)
        if not m:
            _unmatched(problems, key)
            continue
        n = int(m.group(1))
        _compare(problems, key, r["draws"], lambda n=n: randperm_draws(n, prof))
    return problems


def check_large_randperm(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    problems: Problems = []
    _compare(problems, f"n={rec['n']}", rec["draws"], lambda: randperm_draws(rec["n"], prof))
    return problems


_SIZE = 5  # every randint record draws (5,) unless its name says otherwise


def check_randint(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    problems: Problems = []
    for key, r in rec.items():
        low, size, dtype = 0, _SIZE, "int64"
        if m := re.fullmatch(r"([a-z]+\d*)_(\d+)", key):
            dtype, high = m.group(1), int(m.group(2))
        elif m := re.fullmatch(r"int64_(2\*\*28|10)_size0", key):
            high, size = (2**28 if m.group(1) == "2**28" else 10), 0
        elif m := re.fullmatch(r"int64_(-?\d+)_(-?\d+)", key):
            low, high = int(m.group(1)), int(m.group(2))
        elif key == "int32_-2**31_2**31":
            low, high, dtype = -2**31, 2**31, "int32"
        elif key == "bool_0_2":
            high, dtype = 2, "bool"
        elif key == "int64_2**28_generator":
            high = 2**28
        elif key == "int64_100_size64":
            high, size = 100, 64
        else:
            _unmatched(problems, key)
            continue

        def call(high: int = high, size: int = size, low: int = low, dtype: str = dtype) -> int:
            return randint_draws(high, size, low=low, dtype=dtype, profile=prof)

        _check_draws(problems, key, r, call)
    return problems


def check_random_(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    problems: Problems = []
    for key, r in rec.items():
        if m := re.fullmatch(r"([a-z]+\d*)_(scalar|5)", key):
            size: Any = () if m.group(2) == "scalar" else 5
            dtype = m.group(1)
            _compare(problems, key, r["draws"], lambda d=dtype, s=size: random_draws(s, dtype=d))
        elif key == "int64_to_10":
            _compare(problems, key, r["draws"], lambda: randint_draws(10, 5, profile=prof))
        elif key == "int64_to_2**32+1":
            _compare(problems, key, r["draws"], lambda: randint_draws(2**32 + 1, 5, profile=prof))
        elif key == "int64_full_range":
            _compare(problems, key, r["draws"], lambda: random_draws(5, dtype="int64"))
        else:
            _unmatched(problems, key)
    return problems


def _shape(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("x"))


def check_bernoulli(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    problems: Problems = []
    for key, r in rec.items():
        kw: dict[str, Any]
        if m := re.fullmatch(r"scalar_p_([a-z]+\d*)_(\d+(?:x\d+)?)(?:_(contig|strided|transposed|generator))?",
                             key):
            kw = {"size": _shape(m.group(2)), "dtype": m.group(1)}
        elif m := re.fullmatch(r"scalar_p_float32_7_p[01]", key):
            kw = {"size": 7}
        elif m := re.fullmatch(r"tensor_p_same_dtype_([a-z]+\d*)_(\d+)_(contig|strided)", key):
            kw = {"size": int(m.group(2)), "dtype": m.group(1), "p_dtype": m.group(1)}
        elif m := re.fullmatch(r"tensor_p_float64_([a-z]+\d*)_(\d+)", key):
            kw = {"size": int(m.group(2)), "dtype": m.group(1), "p_dtype": "float64"}
        elif m := re.fullmatch(r"tensor_p_0dim_([a-z]+\d*)_7", key):
            kw = {"size": 7, "p_dtype": m.group(1)}
        elif m := re.fullmatch(r"torch_bernoulli_([a-z]+\d*)_(\d+)", key):
            kw = {"size": int(m.group(2)), "dtype": m.group(1), "p_dtype": m.group(1)}
        elif key == "torch_bernoulli_p_float_float32_7":
            kw = {"size": 7}
        else:
            _unmatched(problems, key)
            continue

        def call(kw: dict[str, Any] = kw) -> int:
            return bernoulli_draws(profile=prof, **kw)

        _check_draws(problems, key, r, call)
    return problems


_DROPOUT_SHAPES = {"1": (1,), "7": (7,), "64x8": (64, 8), "10000": (10000,)}


def check_dropout(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    problems: Problems = []
    for key, r in rec.items():
        kw: dict[str, Any] = {"p": 0.3}
        if m := re.fullmatch(r"dropout_([a-z]+\d*)_(1|7|64x8|10000)", key):
            kw.update(shape=_DROPOUT_SHAPES[m.group(2)], dtype=m.group(1))
        elif m := re.fullmatch(r"(?:dropout|torch_dropout)_float32_64x8(_requires_grad|_strided|_inplace|_p0|_p1|"
                               r"_eval)?", key):
            kw.update(shape=(64, 8))
            tail = m.group(1) or ""
            if tail in ("_p0", "_p1"):
                kw["p"] = float(tail[-1])
            kw["training"] = tail != "_eval"
        elif m := re.fullmatch(r"nn_Dropout_(train|eval)_(64x8|64x64)", key):
            kw.update(shape=_shape(m.group(2)), training=m.group(1) == "train")
        elif m := re.fullmatch(r"dropout([123])d_(\d+(?:x\d+)+)(_float64)?", key):
            kw.update(shape=_shape(m.group(2)), kind="feature_dropout",
                      dtype="float64" if m.group(3) else "float32")
        elif m := re.fullmatch(r"alpha_dropout_64x8(_float64)?", key):
            kw.update(shape=(64, 8), kind="alpha_dropout", dtype="float64" if m.group(1) else "float32")
        elif key == "feature_alpha_dropout_2x3x4x4":
            kw.update(shape=(2, 3, 4, 4), kind="feature_alpha_dropout")
        else:
            _unmatched(problems, key)
            continue

        def call(kw: dict[str, Any] = kw) -> int:
            return dropout_draws(profile=prof, **kw)

        _check_draws(problems, key, r, call)
    return problems


def check_rand(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    problems: Problems = []
    for key, r in rec.items():
        if m := re.fullmatch(r"rand_([a-z]+\d*)_(\d+)", key):
            dtype, n = m.group(1), int(m.group(2))
            _compare(problems, key, r["draws"], lambda d=dtype, n=n: rand_draws(n, dtype=d))
    return problems


#: ``rand_randn`` keys not checked: the library has no model of normal_'s
#: counts (Box-Muller blocks, the serial path's cached second value).
RANDN_REASON = "normal_/randn counts are not modelled by the library's draw accounting"


def check_distributions(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    """The distribution records the library models: uniform_, the empty-tensor cases."""
    problems: Problems = []
    for key, r in rec.items():
        if m := re.fullmatch(r"uniform__([a-z]+\d*)_(\d+)", key):
            dtype, n = m.group(1), int(m.group(2))
            _compare(problems, key, r["draws"], lambda d=dtype, n=n: rand_draws(n, dtype=d))
        elif key == "uniform__float32_0":
            _compare(problems, key, r["draws"], lambda: rand_draws(0))
        elif key == "random__int64_0":
            _compare(problems, key, r["draws"], lambda: random_draws(0))
        elif key == "bernoulli_tensor_p_float32_0":
            _compare(problems, key, r["draws"], lambda: bernoulli_draws(0, p_dtype="float32", profile=prof))
        elif key == "dropout_float32_0":
            _compare(problems, key, r["draws"], lambda: dropout_draws((0,), 0.3, profile=prof))
    return problems


DISTRIBUTIONS_REASON = ("exponential_, multinomial, normal_, cauchy_, geometric_, log_normal_ and "
                        "poisson are not modelled by the library's draw accounting")


def check_init(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    """Linear init: kaiming_uniform_ on the weight, uniform_ on the bias, float32."""
    problems: Problems = []
    for key, r in rec.items():
        if m := re.fullmatch(r"Linear_(\d+)_(\d+)(_no_bias)?", key):
            i, o, bias = int(m.group(1)), int(m.group(2)), not m.group(3)
            _compare(problems, key, r["draws"],
                     lambda i=i, o=o, bias=bias: rand_draws((o, i)) + (rand_draws(o) if bias else 0))
        elif key == "writeup_model":
            _compare(problems, key, r["draws"],
                     lambda: rand_draws((64, 8)) + rand_draws(64) + rand_draws((1, 64)) + rand_draws(1))
    return problems


def check_seeding(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    problems: Problems = []
    for key, r in rec.items():
        if re.fullmatch(r"-?\d+", key) and "error" not in r:
            seed = int(key) % 2**64
            _compare(problems, key, r["state_sha"], lambda s=seed: _state_sha(s, 0))
    return problems


# -- data utilities ----------------------------------------------------------------
def _flat(batches: Any) -> list[int]:
    out: list[int] = []
    for b in batches:
        out.extend(b.tolist() if isinstance(b, torch.Tensor) else list(b))
    return out


def _epochs_of(problems: Problems, label: str, rec: dict[str, Any], make: Callable[[], list[int]],
               g: torch.Generator | None) -> None:
    """Iterate ``make`` once per recorded epoch, comparing indices and states."""
    for e, expected in enumerate(rec["indices_sha"]):
        idx = make()
        if _sha_json(idx) != expected:
            problems.append(f"{label} epoch {e}: indices differ (first {idx[:8]}, recorded "
                            f"{rec['indices_first'][e]})")
        if _sha_bytes(bytes(torch.get_rng_state().numpy())) != rec["global_state_sha"][e]:
            problems.append(f"{label} epoch {e}: the global generator's state differs")
        if g is not None and _sha_bytes(bytes(g.get_state().numpy())) != rec["g_state_sha"][e]:
            problems.append(f"{label} epoch {e}: the sampler generator's state differs")


def _sampler_epochs(rec: dict[str, Any], prof: TorchProfile, label: str, n: int, *, own: bool,
                    loader: int | None = None, take: int | None = None, **kw: Any) -> Problems:
    """The sampler under ``torch_version=prof``, bare or in a DataLoader (``loader``: batch size)."""
    problems: Problems = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        g = torch.Generator().manual_seed(7) if own else None
        sampler = ReplayableRandomSampler(Indices(n), generator=g, torch_version=prof.name, **kw)
        source: Any = sampler if loader is None else DataLoader(Indices(n), batch_size=loader,
                                                               sampler=sampler, generator=g)

        def make() -> list[int]:
            out = []
            for x in source:
                out.append(x)
                if take is not None and len(out) == take:
                    break
            return _flat(out) if loader is not None else out

        _epochs_of(problems, label, rec, make, g)
    return problems


def _own_states(problems: Problems, rec: dict[str, Any], loader: Loader, prof: TorchProfile) -> None:
    """``generator_states_at`` after each recorded epoch against the recorded own-generator state."""
    run = Run(0, ("torch",), loaders=(loader,), torch_version=prof.name)
    for e, expected in enumerate(rec["g_state_sha"]):
        got = generator_states_at(run, e + 1)[loader.label]
        if _sha_bytes(got) != expected:
            problems.append(f"generator_states_at(run, {e + 1}): the own generator's state differs")
    _run_states(problems, rec, run)


def check_generator_dataloader(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    problems = _sampler_epochs(rec, prof, "sampler", 100, own=True, loader=10)
    _own_states(problems, rec, Loader(100, shuffle=True, sampler_generator="own",
                                      loader_generator="own", generator_seed=7), prof)
    for e, draws in enumerate(rec["g_draws"]):
        _compare(problems, f"g_draws[{e}]", draws,
                 lambda: 2 + random_sampler_draws(100, own_generator=True, profile=prof))
    return problems


def check_generator_sampler_bare(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    problems = _sampler_epochs(rec, prof, "sampler", 100, own=True)
    _own_states(problems, rec, Loader(100, shuffle=True, sampler_generator="own", bare=True,
                                      generator_seed=7), prof)
    for e, draws in enumerate(rec["g_draws"]):
        _compare(problems, f"g_draws[{e}]", draws,
                 lambda: random_sampler_draws(100, own_generator=True, profile=prof))
    return problems


def check_global_sampler_bare(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    problems = _sampler_epochs(rec, prof, "sampler", 100, own=False)
    _run_states(problems, rec, Run(0, ("torch",), loaders=(Loader(100, shuffle=True, bare=True),),
                                   torch_version=prof.name))
    for e, draws in enumerate(rec["global_draws"]):
        _compare(problems, f"global_draws[{e}]", draws, lambda: random_sampler_draws(100, profile=prof))
    return problems


def _run_states(problems: Problems, rec: dict[str, Any], run: Run) -> None:
    """``reconstruct`` at the end of each recorded epoch against the recorded global state."""
    for e, expected in enumerate(rec["global_state_sha"]):
        got = reconstruct(run, e + 1).torch
        assert got is not None
        if _sha_bytes(got) != expected:
            problems.append(f"reconstruct(run, {e + 1}): the state differs from the recorded one")


def check_global_dataloader(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    problems = _sampler_epochs(rec, prof, "loader", 100, own=False, loader=10)
    _run_states(problems, rec, Run(0, ("torch",), loaders=(Loader(100, shuffle=True),),
                                   torch_version=prof.name))
    return problems


def check_sequential_dataloader(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    problems: Problems = []
    _run_states(problems, rec, Run(0, ("torch",), loaders=(Loader(100),), torch_version=prof.name))
    return problems


def check_replacement(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    problems: Problems = []
    for key, r in rec.items():
        m = re.fullmatch(r"(g|global)_(default|num_samples_(\d+))", key)
        if not m:
            _unmatched(problems, key)
            continue
        own, ns = m.group(1) == "g", int(m.group(3)) if m.group(3) else None
        problems += [f"{key}: {p}" for p in _sampler_epochs(r, prof, "sampler", 50, own=own,
                                                             replacement=True, num_samples=ns)]
        if own:
            _own_states(problems, r, Loader(50, shuffle=True, replacement=True, num_samples=ns, bare=True,
                                            sampler_generator="own", generator_seed=7), prof)
        else:
            bare = Loader(50, shuffle=True, replacement=True, num_samples=ns, bare=True)
            _run_states(problems, r, Run(0, ("torch",), loaders=(bare,), torch_version=prof.name))
        field = "g_draws" if own else "global_draws"
        for e, draws in enumerate(r[field]):
            _compare(problems, f"{key} {field}[{e}]", draws,
                     lambda own=own, ns=ns: random_sampler_draws(50, ns, True, own_generator=own, profile=prof))
    return problems


def check_num_samples_above_n(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    problems: Problems = []
    for key, r in rec.items():
        m = re.fullmatch(r"g_num_samples_(\d+)", key)
        if not m:
            _unmatched(problems, key)
            continue
        ns = int(m.group(1))
        problems += [f"{key}: {p}" for p in _sampler_epochs(r, prof, "sampler", 20, own=True, num_samples=ns)]
        _own_states(problems, r, Loader(20, shuffle=True, num_samples=ns, bare=True,
                                        sampler_generator="own", generator_seed=7), prof)
        for e, draws in enumerate(r["g_draws"]):
            _compare(problems, f"{key} g_draws[{e}]", draws,
                     lambda ns=ns: random_sampler_draws(20, ns, own_generator=True, profile=prof))
    return problems


def check_break_epoch(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    problems: Problems = []
    for key, r in rec.items():
        if m := re.fullmatch(r"sampler_take_(\d+)", key):
            found = _sampler_epochs(r, prof, "sampler", 20, own=True, take=int(m.group(1)))
        elif m := re.fullmatch(r"(global_)?loader_batches_(\d+)", key):
            found = _sampler_epochs(r, prof, "loader", 20, own=not m.group(1), loader=4,
                                    take=int(m.group(2)))
        else:
            _unmatched(problems, key)
            continue
        problems += [f"{key}: {p}" for p in found]
    return problems


def check_workers(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    """Global states per epoch of a 2-worker loader, from ``reconstruct``."""
    problems: Problems = []
    for key, persistent in (("persistent_false", False), ("persistent_true", True)):
        run = Run(0, ("torch",), loaders=(Loader(16, shuffle=True, persistent_workers=persistent),),
                  torch_version=prof.name)
        problems += [f"{key}: {p}" for p in _collect(_run_states, rec[key], run)]
    return problems


def _collect(fn: Callable[..., None], *args: Any) -> Problems:
    problems: Problems = []
    fn(problems, *args)
    return problems


def check_random_split(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    problems: Problems = []
    sizes = {"n1806": 1806, "n20": 20, "n10": 10, "n7": 7}
    lengths_of = {"int_15_5": (20, [15, 5]), "int_1445_361": (1806, [1445, 361])}
    for key, r in rec.items():
        m = re.fullmatch(r"(int_\d+_\d+|frac_([\d._]+)_(n\d+))_(global|generator)", key)
        if not m:
            _unmatched(problems, key)
            continue
        if m.group(2):
            total = sizes[m.group(3)]
            lengths: list[Any] = [float(x) for x in m.group(2).split("_")]
        else:
            total, lengths = lengths_of[m.group(1)]
        own = m.group(4) == "generator"
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(1)
            g = torch.Generator().manual_seed(42) if own else None
            parts = replayable_random_split(Indices(total), lengths, generator=g)
        _compare(problems, f"{key} sizes", r["sizes"], lambda parts=parts: [len(p) for p in parts])
        _compare(problems, f"{key} indices", r["indices_sha"],
                 lambda parts=parts: [_sha_json(list(p.indices)) for p in parts])
        _compare(problems, f"{key} draws", r["g_draws" if own else "global_draws"],
                 lambda total=total: random_split_draws(total, prof))
        _compare(problems, f"{key} Split", r["sizes"],
                 lambda total=total, lengths=lengths: Split(total, tuple(lengths)).integer_lengths())
    return problems


def writeup_run(rec: dict[str, Any], prof: TorchProfile) -> Run:
    """The write-up's run described from its code alone: split 1806 into
    [0.8, 0.2], build the model, per epoch a shuffled train loader (batch 64,
    CPU dropout on the (batch, 64) hidden layer) and a test loader."""
    n = rec["n"]
    train, _test = Split(n, (0.8, 0.2)).integer_lengths()
    init = rand_draws((64, 8)) + rand_draws(64) + rand_draws((1, 64)) + rand_draws(1)
    batches = [64] * (train // 64) + ([train % 64] if train % 64 else [])
    dropout = sum(dropout_draws((b, 64), 0.3, profile=prof) for b in batches)
    return Run(1, ("torch",), prologue=(Split(n, (0.8, 0.2)), Draws(init, "model init")),
               loaders=(Loader(train, shuffle=True, label="train"), Loader(n - train, label="test")),
               epoch_draws=dropout, torch_version=prof.name)


def check_writeup_loop(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    problems: Problems = []
    run = writeup_run(rec, prof)
    _compare(problems, "split_draws", rec["split_draws"], lambda: random_split_draws(rec["n"], prof))
    _compare(problems, "split_sizes", rec["split_sizes"],
             lambda: Split(rec["n"], (0.8, 0.2)).integer_lengths())
    _compare(problems, "model_init_draws", rec["model_init_draws"], lambda: run.prologue[1].draws(prof))
    for e, draws in enumerate(rec["epoch_draws"]):
        _compare(problems, f"epoch_draws[{e}]", draws, lambda e=e: run.epoch_torch_draws(e))
    expected = {"0": rec["after_prologue_state_sha"], **rec["epoch_start_state_sha"]}
    for epoch, sha in sorted(expected.items(), key=lambda kv: int(kv[0])):
        _compare(problems, f"reconstruct(run, {epoch})", sha,
                 lambda epoch=epoch: _sha_bytes(reconstruct(run, int(epoch)).torch or b""))
    return problems


def check_datapipe(rec: dict[str, Any], prof: TorchProfile) -> Problems:
    """Global states of a DataLoader over an IterDataPipe, from ``reconstruct``."""
    problems: Problems = []
    for key, workers, persistent in (("global", 0, False), ("workers2", 2, False),
                                     ("workers2_persistent", 2, True)):
        loader = Loader(0, datapipe=True, workers=workers, persistent_workers=persistent)
        run = Run(0, ("torch",), loaders=(loader,), torch_version=prof.name)
        problems += [f"{key}: {p}" for p in _collect(_run_states, rec[key], run)]
    own = Loader(0, datapipe=True, loader_generator="own", generator_seed=7)
    problems += [f"generator: {p}" for p in _collect(_own_states, rec["generator"], own, prof)]
    return problems


# -- the register: every scenario checked, or listed with its reason -----------------

CHECKS: dict[str, Callable[[dict[str, Any], TorchProfile], Problems]] = {
    "writeup_loop": check_writeup_loop,
    "generator_dataloader": check_generator_dataloader,
    "generator_sampler_bare": check_generator_sampler_bare,
    "global_sampler_bare": check_global_sampler_bare,
    "global_dataloader": check_global_dataloader,
    "sequential_dataloader": check_sequential_dataloader,
    "replacement": check_replacement,
    "num_samples_above_n": check_num_samples_above_n,
    "break_epoch": check_break_epoch,
    "workers": check_workers,
    "randperm": check_randperm,
    "randint": check_randint,
    "rand_randn": check_rand,
    "random_": check_random_,
    "bernoulli": check_bernoulli,
    "dropout": check_dropout,
    "distributions": check_distributions,
    "init": check_init,
    "random_split": check_random_split,
    "seeding": check_seeding,
    "datapipe": check_datapipe,
    "large_randperm_214748364": check_large_randperm,
    "large_randperm_214748363": check_large_randperm,
}

#: Scenarios (or the parts of them) no check covers, and why.
NOT_CHECKED = {
    "rand_randn (randn_*)": RANDN_REASON,
    "distributions (all but uniform_ and the empty cases)": DISTRIBUTIONS_REASON,
    "init (all but Linear)": "Conv2d/Embedding/xavier/orthogonal/trunc_normal init is not "
                             "modelled; measure_draws counts a model's init on the installed torch",
    "workers (augment_sha)": "values drawn inside workers come from torch, not from the library",
    "seeding (fresh_generator_*)": "a fresh torch.Generator() is seeded by torch's default seed, "
                                   "not a state the library reconstructs",
}


def _release_profiles() -> list[tuple[str, TorchProfile]]:
    return [(r, TorchProfile.of(r)) for r in RELEASES]


@pytest.mark.parametrize("name", sorted(CHECKS))
@pytest.mark.parametrize("release", sorted(RELEASES))
def test_library_agrees_with_the_release(release, name):
    """Under the profile of the release that recorded it, the library reproduces each scenario."""
    data = vectors.load(RELEASES[release])
    assert CHECKS[name](data["scenarios"][name], TorchProfile.of(release)) == []


def test_every_scenario_is_checked_or_listed():
    """The checks and the recorder cover the same scenario list."""
    listed = {key.split(" ")[0].rstrip(",") for key in NOT_CHECKED}
    assert set(CHECKS) <= set(rr.SCENARIOS)
    assert set(rr.SCENARIOS) - set(CHECKS) <= listed
    assert listed <= set(rr.SCENARIOS)


# -- negative controls: the wrong release's rules must fail ----------------------------

@pytest.mark.parametrize(
    "release, wrong, name",
    [
        ("2.6.0", "2.7", "dropout"),
        ("2.6.0", "2.7", "bernoulli"),
        ("2.6.0", "2.7", "randint"),
        ("2.6.0", "2.7", "writeup_loop"),
        ("2.7.0", "2.6", "writeup_loop"),
        ("2.7.0", "2.6", "dropout"),
        ("2.5.1", "2.6", "large_randperm_214748364"),
        ("2.6.0", "2.5", "large_randperm_214748364"),
        ("2.0.1", "2.5", "bernoulli"),
        ("1.13.1", "2.5", "bernoulli"),
        ("2.13.0", "2.6", "randint"),
    ],
)
def test_the_wrong_release_fails(release, wrong, name):
    """A vector checked under a release whose rules differ shows mismatches."""
    data = vectors.load(RELEASES[release])
    assert CHECKS[name](data["scenarios"][name], TorchProfile.of(wrong)) != []


def test_the_wrong_generator_seed_fails():
    """Negative control for own generators: another seed's states do not match."""
    rec = vectors.load(RELEASES["2.13.0"])["scenarios"]["generator_sampler_bare"]
    wrong = Loader(100, shuffle=True, sampler_generator="own", bare=True, generator_seed=8)
    assert _collect(_own_states, rec, wrong, TorchProfile.of("2.13")) != []


def test_the_wrong_cpu_fails():
    """1.13.1 on an AMD CPU took the per-element kernel: the Intel vectors refuse that model."""
    rec = vectors.load(RELEASES["1.13.1"])["scenarios"]["dropout"]["dropout_float32_64x8"]
    assert dropout_draws((64, 8), 0.3, profile="1.13", intel_cpu=False) != rec["draws"]
    assert dropout_draws((64, 8), 0.3, profile="2.0", intel_cpu=False) == 1
    assert dropout_draws((64, 8), 0.3, profile="2.6", mkl=False) == 1024


# -- the helper's own errors ----------------------------------------------------------

def test_a_corrupt_vector_file_is_refused(tmp_path):
    """A file that is not JSON, of another format, or from another scenario list says so."""
    good = json.loads(RELEASES["2.6.0"].read_text())
    bad = tmp_path / "torch-2.6.0.json"
    bad.write_text("{not json")
    with pytest.raises(vectors.VectorFileError, match="not a readable JSON vector file"):
        vectors.load(bad)
    bad.write_text(json.dumps({**good, "format": "something.else"}))
    with pytest.raises(vectors.VectorFileError, match=r"format must be 'replay_sampler\.reference'"):
        vectors.load(bad)
    other = dict(good["scenarios"])
    other.pop("dropout")
    other["new_thing"] = {}
    bad.write_text(json.dumps({**good, "scenarios": other}))
    with pytest.raises(vectors.VectorFileError,
                       match=r"another scenario list.*missing: \['dropout'\].*\['new_thing'\]"):
        vectors.load(bad)
    renamed = tmp_path / "torch-2.7.0.json"
    renamed.write_text(json.dumps(good))
    with pytest.raises(vectors.VectorFileError, match=r"the file name says torch 2\.7\.0"):
        vectors.load(renamed)


def test_reconstructed_generators_continue_a_real_loader():
    """reconstruct_generators hands back a loader's own generator as a real run left it."""
    from replay_sampler import reconstruct_generators

    loader = Loader(100, shuffle=True, sampler_generator="own", loader_generator="own",
                    generator_seed=7, label="train")
    g = torch.Generator().manual_seed(7)
    real = DataLoader(Indices(100), batch_size=10, shuffle=True, generator=g)
    for _ in range(4):
        _flat(real)
    got = reconstruct_generators(Run(0, ("torch",), loaders=(loader,)), 4)["train"]
    assert torch.equal(got.get_state(), g.get_state())
