"""The replay core: MT19937 states, jump-ahead and draw accounting.

This module and everything it imports use numpy only -- never torch -- so it
can model torch's, numpy's and Python's MT19937 generators anywhere.
"""

from ._distance import NotReachedError, draws_between
from ._draws import (
    RANDOM64_DRAWS,
    RANDPERM_LARGE_N,
    SEED_DRAWS,
    TorchProfile,
    int64_random_draws,
    rand_draws,
    randint_draws,
    random_sampler_draws,
    random_split_draws,
    randperm_draws,
)
from ._formats import TORCH_STATE_SIZE, TorchCPUState
from ._mt19937 import MT19937State, temper, untemper

__all__ = [
    "MT19937State",
    "NotReachedError",
    "RANDOM64_DRAWS",
    "RANDPERM_LARGE_N",
    "SEED_DRAWS",
    "TORCH_STATE_SIZE",
    "TorchCPUState",
    "TorchProfile",
    "draws_between",
    "int64_random_draws",
    "rand_draws",
    "randint_draws",
    "random_sampler_draws",
    "random_split_draws",
    "randperm_draws",
    "temper",
    "untemper",
]
