"""The replay core: MT19937 states, jump-ahead, release rules and draw accounting.

This package and everything it imports use numpy only -- never torch, never
a module outside ``replay_sampler/core/`` -- so it can model torch's,
numpy's and Python's MT19937 generators anywhere.  Its modules, from the
bottom up (each imports only those above it):

``_errors``     the exceptions callers tell apart
``_checks``     argument checks, one wording per rule
``_gf2``        ``x**n mod P`` in trace-window coordinates (docs/jump-ahead.md)
``_engine``     keys: tempering, seeding, stepping in C, jump evaluation
``_formats``    torch / numpy / ``random`` state layouts as ``(key, pos)``
``_mt19937``    the value types :class:`MT19937State` and :class:`TorchCPUState`
``_cuda``       the CUDA (Philox) state value type :class:`TorchCUDAState`
``_distance``   :func:`draws_between`
``_profiles``   :class:`TorchProfile`, every per-release rule
``_draws``      draws per torch operation
``_emulate``    older releases' kernels where today's compute differently
``_plan``       the torch-free description of a run (:class:`Run`) and its states,
               CUDA devices' included
"""

from ._cuda import CUDA_OFFSET_STEP, TorchCUDAState
from ._distance import draws_between
from ._draws import (
    RANDOM64_DRAWS,
    SEED_DRAWS,
    bernoulli_draws,
    dropout_draws,
    int64_random_draws,
    rand_draws,
    randint_bounds,
    randint_draws,
    random_draws,
    random_sampler_draws,
    random_split_draws,
    randperm_draws,
)
from ._errors import CorruptStateError, ForeignStateError, NotReachedError
from ._formats import CUDA_STATE_SIZE, TORCH_STATE_SIZE
from ._mt19937 import MT19937State, TorchCPUState, temper, untemper
from ._plan import (
    Draws,
    Loader,
    Run,
    Split,
    cuda_states_at,
    generator_states_at,
    split_lengths,
    states_at,
)
from ._profiles import RANDPERM_LARGE_N, SamplerGlobalDraws, TorchProfile

__all__ = [
    "CUDA_OFFSET_STEP",
    "CUDA_STATE_SIZE",
    "RANDOM64_DRAWS",
    "RANDPERM_LARGE_N",
    "SEED_DRAWS",
    "TORCH_STATE_SIZE",
    "CorruptStateError",
    "Draws",
    "ForeignStateError",
    "Loader",
    "MT19937State",
    "NotReachedError",
    "Run",
    "SamplerGlobalDraws",
    "Split",
    "TorchCPUState",
    "TorchCUDAState",
    "TorchProfile",
    "bernoulli_draws",
    "cuda_states_at",
    "draws_between",
    "dropout_draws",
    "generator_states_at",
    "int64_random_draws",
    "rand_draws",
    "randint_bounds",
    "randint_draws",
    "random_draws",
    "random_sampler_draws",
    "random_split_draws",
    "randperm_draws",
    "split_lengths",
    "states_at",
    "temper",
    "untemper",
]
