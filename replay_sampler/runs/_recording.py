"""Recording the random ops a piece of code makes, and pricing them under a release.

:func:`record_draws` runs a function once on the installed torch under a
``TorchFunctionMode`` that sees every torch call made from Python; the
random ones (``bernoulli_``, dropout and its variants, ``randperm``,
``randint``, ``random_``, ``rand``/``uniform_``, ``normal_``/``randn``,
``exponential_``, ...) are recorded with their shape, dtype, generator and
the draws they really took from the measured generator.
:meth:`DrawRecord.total` prices the record under any release's rules
(:class:`~replay_sampler.core.TorchProfile`): calls whose kernels changed
between releases are priced by the draw accounting of
``replay_sampler.core``; calls whose kernels drew alike in every recorded
release keep the measured count; any other random call is reported with a
warning naming it, and draws that no watched call explains (a random op
called from C++ only) with a warning giving their number -- never priced as
today's in silence.

A function mode rather than a dispatch mode: it sees the calls as the
user's code makes them (``F.dropout``, not its ``bernoulli_``), skips the
backward pass, and costs well under 2x a plain CPU epoch where a dispatch
mode cost 2.6-4x (``benchmarks/bench_record.py``).  Its blind spot: a
Python function that redispatches as a whole (``nn.init.*``,
``F.multi_head_attention_forward``) hides the calls inside it.  ``nn.init``
is watched itself; anything else shows up as :attr:`DrawRecord.unexplained`
draws, with a warning.

What no record can see: Python code above the calls that changed between
releases (``nn.init.trunc_normal_`` became rejection sampling after 2.7) --
the calls are today's; and draws whose count depends on data.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from .. import _torch
from ..core import _distance
from ..core._draws import (
    bernoulli_draws,
    dropout_draws,
    randint_draws,
    random_draws,
    randperm_draws,
)
from ..core._plan import Draws
from ..core._profiles import TorchProfile
from ..samplers._timeline import preserved

#: Ops whose CPU kernels drew alike in every recorded release (1.13.1-2.14.1):
#: their measured count is their price under any release.
SAME_EVERYWHERE = frozenset({
    "uniform_", "rand", "rand_like", "cauchy_", "geometric_", "log_normal_", "poisson",
})
#: Ops whose price is modelled per release (see :func:`price`).
MODELLED = frozenset({
    "bernoulli_", "bernoulli", "randperm", "randint", "randint_like", "random_",
    "normal", "normal_", "randn", "randn_like", "exponential_",
    "dropout", "alpha_dropout", "feature_dropout", "feature_alpha_dropout",
})
#: Ops counted by the installed release's rule instead of by reading the
#: generator around each call (which costs more than the op): the rules are
#: pinned by the recorded vectors, and the record's total is checked against
#: the generator's real move (:attr:`DrawRecord.unexplained`).
_PRICED = frozenset({
    "bernoulli_", "bernoulli", "dropout", "alpha_dropout", "feature_dropout",
    "feature_alpha_dropout", "randperm", "randint", "random_",
})
#: dtypes whose contiguous normal_ changed its block count between 2.7 and 2.13.
_HALF_DTYPES = ("bfloat16", "float16")

_F = torch.nn.functional
_T = torch.Tensor
#: The Python entry points the recorder watches, by the name pricing uses.
#: Calls inside one of them (F.dropout's bernoulli_) are not seen again.
_WATCHED: dict[Any, str] = {
    _T.bernoulli_: "bernoulli_", _T.bernoulli: "bernoulli", torch.bernoulli: "bernoulli",
    _F.dropout: "dropout", torch.dropout: "dropout", _F.alpha_dropout: "alpha_dropout",
    torch.alpha_dropout: "alpha_dropout", _F.dropout1d: "feature_dropout",
    _F.dropout2d: "feature_dropout", _F.dropout3d: "feature_dropout",
    torch.feature_dropout: "feature_dropout", _F.feature_alpha_dropout: "feature_alpha_dropout",
    torch.feature_alpha_dropout: "feature_alpha_dropout",
    torch.randperm: "randperm", torch.randint: "randint", torch.randint_like: "randint_like",
    _T.random_: "random_", _T.uniform_: "uniform_", torch.rand: "rand", torch.rand_like: "rand_like",
    _T.cauchy_: "cauchy_", _T.geometric_: "geometric_", _T.log_normal_: "log_normal_",
    torch.poisson: "poisson", _T.normal_: "normal_", torch.normal: "normal", torch.randn: "randn",
    torch.randn_like: "randn_like", _T.exponential_: "exponential_",
    # random, but priced by no rule: recorded and reported
    torch.multinomial: "multinomial", _T.multinomial: "multinomial", torch.rrelu: "rrelu",
    _F.rrelu: "rrelu",
}
#: ``nn.init``'s functions redispatch as a whole under a function mode (the
#: calls inside them are not seen), so they are watched themselves.  All but
#: ``trunc_normal_`` drew alike in every recorded release; it became
#: rejection sampling between 2.7 and 2.13, and no rule prices it.
_INIT = ("uniform_", "normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_", "xavier_uniform_",
         "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_",
         "trunc_normal_")
_WATCHED.update({getattr(torch.nn.init, name): f"init.{name}" for name in _INIT
                 if hasattr(torch.nn.init, name)})
SAME_EVERYWHERE = SAME_EVERYWHERE | {f"init.{name}" for name in _INIT if name != "trunc_normal_"}


@dataclass(frozen=True)
class RandomOp:
    """One random op the recorded code made.

    ``op``: the call's name (``"bernoulli_"``, ``"dropout"``, ``"randperm"``); ``shape``/``dtype``:
    of the tensor it filled or made; ``measured``: whether it drew from the
    generator measured; ``draws``: what it took from that generator on the
    installed torch; ``args``: the op's integer and float arguments that
    pricing needs (``n``, ``low``, ``high``, ``p`` as ``"float"`` or a dtype).
    """

    op: str
    shape: tuple[int, ...]
    dtype: str
    measured: bool
    draws: int
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The op's name as pricing knows it (``F.dropout2d`` is ``"feature_dropout"``)."""
        return self.op

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


def _dtype(value: Any) -> str:
    return str(value).removeprefix("torch.")


def price(op: RandomOp, profile: TorchProfile, *, mkl: bool = True, intel_cpu: bool = True) -> int | None:
    """Draws ``op`` takes under ``profile``'s rules (``mkl``, ``intel_cpu``:
    the run's build and CPU, see :func:`~replay_sampler.core.bernoulli_draws`);
    ``None`` for an op no rule prices."""
    name, a = op.name, op.args
    if name in SAME_EVERYWHERE:
        return op.draws
    if name in ("bernoulli_", "bernoulli"):
        p = a.get("p", "float")
        return bernoulli_draws(op.shape, dtype=op.dtype, p_dtype=None if p == "float" else p,
                               profile=profile, mkl=mkl, intel_cpu=intel_cpu)
    if name.endswith("dropout") and not name.startswith("init."):
        return dropout_draws(op.shape, a["p"], training=a["training"], kind=name, dtype=op.dtype,
                             profile=profile, mkl=mkl, intel_cpu=intel_cpu)
    if name == "randperm":
        return randperm_draws(a["n"], profile)
    if name in ("randint", "randint_like") or (name == "random_" and "high" in a):
        return randint_draws(a["high"], op.shape, low=a.get("low", 0), dtype=op.dtype, profile=profile)
    if name == "random_":
        if a.get("full_range"):
            return 2 * op.numel
        return random_draws(op.shape, dtype=op.dtype)
    if name in ("normal", "normal_", "randn", "randn_like"):
        installed = TorchProfile.of(None)
        if (op.dtype in _HALF_DTYPES and a.get("contiguous", True) and op.numel >= 16
                and installed.normal_half_blocks != profile.normal_half_blocks):
            n = op.numel
            return 16 * -(-n // 16) if profile.normal_half_blocks else n + (16 if n % 16 else 0)
        return op.draws
    if name == "exponential_":
        if profile.exponential_per_call(mkl):
            if op.numel == 0 and profile.empty_draws_nothing:
                return 0
            return 2 if op.dtype == "float64" else 1
        return 0 if op.numel == 0 else 2 * op.numel
    return None


_DRIFT_WARNED: set[tuple[TorchProfile, int, int]] = set()


def _warn_drift(run: TorchProfile, then: int, installed: TorchProfile, now: int) -> None:
    """Once per (release, counts): the installed kernels draw differently for
    this code, so a resumed run is exact only up to where it resumes."""
    key = (run, then, now)
    if key in _DRIFT_WARNED:
        return
    _DRIFT_WARNED.add(key)
    warnings.warn(
        f"this code draws {then:,} under {run} and {now:,} on the installed {installed}: a run "
        f"made under {run} and resumed here is exact to the start of the resumed epoch, not "
        f"after -- from there on its epochs draw {now:,} where the original run drew {then:,}, "
        "so its data order and random stream leave the original's",
        UserWarning,
        stacklevel=3,
    )


@dataclass(frozen=True)
class DrawRecord:
    """The random ops one run of a function made, in order (:func:`record_draws`)."""

    ops: tuple[RandomOp, ...]
    #: draws the measured generator really moved, on the installed torch
    measured: int

    @property
    def unexplained(self) -> int:
        """Draws of the measured generator no recorded call took (random ops
        reached from C++ only, which the recorder cannot see)."""
        return self.measured - sum(op.draws for op in self.on_generator())

    def on_generator(self) -> tuple[RandomOp, ...]:
        """The ops that drew from the measured generator."""
        return tuple(op for op in self.ops if op.measured)

    def unknown(self) -> tuple[str, ...]:
        """Ops on the measured generator that no rule prices."""
        return tuple(sorted({op.op for op in self.on_generator()
                             if op.name not in SAME_EVERYWHERE | MODELLED}))

    def total(self, torch_version: Any = None, *, mkl: bool = True, intel_cpu: bool = True) -> int:
        """Draws the recorded ops take under ``torch_version``'s rules (default
        the installed torch: the measured count).

        Ops no rule prices are counted as measured on the installed torch,
        with a ``UserWarning`` that names them.  Raises ``ValueError`` where
        that release refused an op (float16 ``bernoulli_`` before 2.5).
        """
        profile = TorchProfile.of(torch_version)
        if torch_version is None:
            return self.measured
        unknown = self.unknown()
        installed = TorchProfile.of(None).name
        if unknown:
            warnings.warn(
                f"no rule prices {', '.join(unknown)} under {profile}; counted as drawn on the "
                f"installed torch {installed}, which may differ",
                stacklevel=2,
            )
        if self.unexplained:
            warnings.warn(
                f"{self.unexplained:,} draws came from random ops the recorder does not see "
                f"(called from C++ only); counted as drawn on the installed torch {installed}, "
                "which may differ",
                stacklevel=2,
            )
        total = self.unexplained
        for op in self.on_generator():
            cost = price(op, profile, mkl=mkl, intel_cpu=intel_cpu)
            total += op.draws if cost is None else cost
        if total != self.measured:
            _warn_drift(profile, total, TorchProfile.of(None), self.measured)
        return total


    def rows(self, torch_version: Any = None, *, mkl: bool = True,
             intel_cpu: bool = True) -> list[tuple[str, int, int]]:
        """One row per distinct (op, shape, dtype) on the measured generator:
        ``(description, calls, draws under torch_version)``."""
        profile = TorchProfile.of(torch_version)
        grouped: dict[str, list[int]] = {}
        for op in self.on_generator():
            cost = price(op, profile, mkl=mkl, intel_cpu=intel_cpu)
            key = f"{op.op} {list(op.shape)} {op.dtype}"
            if cost is None:
                key += " (no rule: as measured)"
                cost = op.draws
            calls_draws = grouped.setdefault(key, [0, 0])
            calls_draws[0] += 1
            calls_draws[1] += cost
        return [(key, calls, draws) for key, (calls, draws) in grouped.items()]

    def as_draws(self, label: str, torch_version: Any = None, *, mkl: bool = True,
                 intel_cpu: bool = True) -> Draws:
        """A prologue step (:class:`~replay_sampler.Draws`) of this record's
        draws under ``torch_version``, its ops listed by ``Run.explain``."""
        rows = self.rows(torch_version, mkl=mkl, intel_cpu=intel_cpu)
        return Draws(self.total(torch_version, mkl=mkl, intel_cpu=intel_cpu), label, tuple(rows))

    def explain(self, torch_version: Any = None, **kw: Any) -> str:
        """The rows as text, a line per op, and the total."""
        profile = TorchProfile.of(torch_version)
        lines = [f"random ops on the measured generator, priced as {profile} draws"]
        for what, calls, draws in self.rows(torch_version, **kw):
            lines.append(f"  {what:<56} {calls:>6}x {draws:>12,}")
        lines.append(f"  {'total':<56} {'':>7} {sum(r[2] for r in self.rows(torch_version, **kw)):>12,}")
        return "\n".join(lines)


def _size_arg(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, ...] | None:
    size = kwargs.get("size")
    if size is None:
        rest = [a for a in args if isinstance(a, (tuple, list, torch.Size))]
        size = rest[0] if rest else None
    return None if size is None else tuple(int(d) for d in size)


def _describe(name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
              out: Any) -> tuple[tuple[int, ...], str, dict[str, Any]]:
    """Shape, dtype and the pricing arguments of one watched call."""
    first = args[0] if args else kwargs.get("input", kwargs.get("self"))
    tensor = out if isinstance(out, torch.Tensor) else first if isinstance(first, torch.Tensor) else None
    shape = tuple(tensor.shape) if tensor is not None else ()
    dtype = _dtype(tensor.dtype) if tensor is not None else ""
    info: dict[str, Any] = {}
    ints = [a for a in args if isinstance(a, int) and not isinstance(a, bool)]
    if name in ("bernoulli_", "bernoulli"):
        p = args[1] if len(args) > 1 else kwargs.get("p")
        if name == "bernoulli" and p is None:
            p = first  # torch.bernoulli(probs): the probabilities are the input
        if name == "bernoulli_" and p is None:
            p = 0.5
        info["p"] = _dtype(p.dtype) if isinstance(p, torch.Tensor) else "float"
    elif name.endswith("dropout") and not name.startswith("init."):
        p = args[1] if len(args) > 1 else kwargs.get("p", 0.5)
        training = args[2] if len(args) > 2 else kwargs.get("training", kwargs.get("train", True))
        info.update(p=float(p), training=bool(training))
        if isinstance(first, torch.Tensor):
            shape, dtype = tuple(first.shape), _dtype(first.dtype)
    elif name == "randperm":
        info["n"] = int(args[0]) if args else int(kwargs["n"])
    elif name == "randint":
        bounds = [a for a in args if isinstance(a, int) and not isinstance(a, bool)]
        if "low" in kwargs:
            bounds = [kwargs["low"], *bounds]
        if "high" in kwargs:
            bounds = [*bounds, kwargs["high"]]
        info.update({"high": bounds[-1]} if len(bounds) == 1 else {"low": bounds[0], "high": bounds[1]})
    elif name == "randint_like":
        bounds = ints + [kwargs[k] for k in ("low", "high") if k in kwargs]
        info.update({"high": bounds[-1]} if len(bounds) == 1 else {"low": bounds[0], "high": bounds[1]})
    elif name == "random_":
        low = kwargs.get("from", ints[0] if len(args) > 2 or (ints and "to" in kwargs) else None)
        high = kwargs.get("to", ints[-1] if ints and (low is None or len(ints) > 1) else None)
        if low is not None and high is None:
            info["full_range"] = low == -2**63
        elif high is not None:
            info.update(high=int(high), low=int(low or 0))
    elif name == "normal_" and isinstance(first, torch.Tensor):
        info["contiguous"] = first.is_contiguous()
    return shape, dtype, info


class _Recorder(TorchFunctionMode):
    """Sees every torch call made from Python; records the random ones."""

    def __init__(self, generator: torch.Generator, limit: int) -> None:
        super().__init__()
        self.generator = generator
        self.limit = limit
        self.ops: list[RandomOp] = []
        self.installed = TorchProfile.of(None)

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        name = _WATCHED.get(func)
        if name is None:
            return func(*args, **kwargs)
        gen = kwargs.get("generator")
        if name in _PRICED:
            # counted by the installed release's rule; DrawRecord.unexplained
            # checks the sum against the generator's real move
            out = func(*args, **kwargs)
            draws = None
        else:
            before = _torch.read(self.generator)
            out = func(*args, **kwargs)
            after = _torch.read(self.generator)
            draws = 0 if after == before else _distance.draws_between(before.mt, after.mt, self.limit)
        shape, dtype, info = _describe(name, args, kwargs, out)
        device = out.device.type if isinstance(out, torch.Tensor) else "cpu"
        measured = device == "cpu" and (
            gen is self.generator or (gen is None and self.generator is torch.default_generator)
        )
        op = RandomOp(name, shape, dtype, measured or bool(draws), 0, info)
        if draws is None:
            draws = (price(op, self.installed) or 0) if measured else 0
        self.ops.append(dataclasses.replace(op, draws=draws))
        return out


def record_draws(fn: Callable[[], Any], generator: torch.Generator | None = None,
                 limit: int = 10**9) -> DrawRecord:
    """Run ``fn()`` once and record every random op it made (:class:`DrawRecord`),
    with the draws each took from ``generator`` (default: torch's global one).

    Afterwards generators, samplers and timelines are as they were before,
    as with :func:`~replay_sampler.measure_draws`; what ``fn`` changes
    elsewhere (a model it trains) stays changed.  Ops in DataLoader worker
    processes are not seen (they do not draw from this process's generators).
    """
    gen = _torch.check_cpu_generator(generator)
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    recorder = _Recorder(gen, limit)
    with preserved():
        before = _torch.read(gen)
        with recorder:
            fn()
        after = _torch.read(gen)
    _torch.write(gen, before)
    return DrawRecord(tuple(recorder.ops), _distance.draws_between(before.mt, after.mt, limit))
