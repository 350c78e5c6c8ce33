"""Draw accounting: every count is what the installed torch actually draws."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from replay_sampler import draws_between
from replay_sampler.core import (
    RANDPERM_LARGE_N,
    TorchProfile,
    int64_random_draws,
    rand_draws,
    randint_draws,
    random_sampler_draws,
    random_split_draws,
    randperm_draws,
)
from tests.strategies import examples


def drawn(operation, seed=17):
    """How many words ``operation(generator)`` takes from a fresh CPU generator."""
    gen = torch.Generator().manual_seed(seed)
    before = gen.get_state()
    operation(gen)
    return draws_between(before, gen.get_state(), 10**9)


@given(st.integers(0, 5000))
def test_randperm_draws_small(n):
    """randperm(n) takes n - 1 draws (none for n <= 1)."""
    assert drawn(lambda g: torch.randperm(n, generator=g)) == randperm_draws(n)


@pytest.mark.slow
def test_randperm_draws_large_path():
    """From n = 2**32 // 20 on, randperm takes 2n draws (torch >= 2.6); just below, n - 1."""
    n = RANDPERM_LARGE_N
    assert randperm_draws(n) == 2 * n and randperm_draws(n - 1) == n - 2
    assert drawn(lambda g: torch.randperm(n, generator=g)) == 2 * n
    assert drawn(lambda g: torch.randperm(n - 1, generator=g)) == n - 2


def test_randperm_large_path_rule_depends_on_release():
    """Before torch 2.6 every n took the one-draw path."""
    n = RANDPERM_LARGE_N
    assert randperm_draws(n, profile="2.5") == n - 1
    assert randperm_draws(n, profile="2.6") == 2 * n


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.float32, torch.float64])
@pytest.mark.parametrize("high", [1, 10, 2**28 - 1, 2**28, 2**31 - 1])
@given(size=st.integers(0, 40))
@settings(max_examples=examples(5))
def test_randint_draws(dtype, high, size):
    """randint takes one draw per element below 2**28 and two from it on (torch >= 2.7)."""
    if dtype == torch.float32 and high > 2**24:
        return  # not representable as float32 bounds
    got = drawn(lambda g: torch.randint(high, (size,), generator=g, dtype=dtype))
    assert got == randint_draws(high, size, dtype=dtype)


def test_randint_rule_before_2_7():
    """Before 2.7 the 64-bit draw started at 2**32 and only for 64-bit and float dtypes."""
    assert randint_draws(2**28, 3, profile="2.6") == 3
    assert randint_draws(2**32, 3, dtype="int64", profile="2.6") == 6
    assert randint_draws(2**31, 3, low=-2**31, dtype="torch.int32", profile="2.6") == 3
    assert randint_draws(2**28, 3, dtype="int32", profile="2.7") == 6


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@given(size=st.integers(0, 100))
@settings(max_examples=examples(10))
def test_rand_draws(dtype, size):
    """rand takes one draw per float32 element and two per float64 element."""
    assert drawn(lambda g: torch.rand(size, generator=g, dtype=dtype)) == rand_draws(size, dtype=dtype)


def test_int64_random_draws():
    """The seed RandomSampler and DataLoader draw (int64 random_) costs one random64."""
    got = drawn(lambda g: torch.empty((), dtype=torch.int64).random_(generator=g))
    assert got == int64_random_draws() == 2


@given(st.integers(2, 3000))
@settings(max_examples=examples(15))
def test_random_split_draws(total):
    """random_split draws one randperm of the dataset size."""
    lengths = [total // 2, total - total // 2]
    got = drawn(lambda g: torch.utils.data.random_split(range(total), lengths, generator=g))
    assert got == random_split_draws(total)


@pytest.mark.parametrize(
    "version, expected",
    [("2.13.0+cpu", (2, 13)), ("1.8.1", (1, 8)), ((2, 5), (2, 5)), (" 1.10", (1, 10))],
)
def test_profiles_parse_versions(version, expected):
    """Profiles accept version strings and tuples."""
    assert TorchProfile.of(version).version == expected


def test_default_profile_is_the_installed_torch():
    """With no version given, the profile is the installed torch's."""
    major, minor = (int(x) for x in torch.__version__.split(".")[:2])
    assert TorchProfile.of().version == (major, minor)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: TorchProfile.of("banana"), ValueError, "torch_version must look like '2.13'"),
        (lambda: TorchProfile.of("0.4"), ValueError, "torch_version must be 1.0 or later"),
        (lambda: randperm_draws(-1), ValueError, "n must be a non-negative integer, got -1"),
        (lambda: randint_draws(0), ValueError, "high must be greater than low"),
        (lambda: randint_draws(2**32, dtype="int32"), ValueError,
         r"high - 1 = 4294967295 is out of bounds for int32"),
        (lambda: randint_draws(10, dtype="complex64"), ValueError, "dtype must be one of"),
        (lambda: rand_draws("3"), TypeError, "size must be an integer or a sequence"),
    ],
)
def test_bad_arguments_are_named(call, exc, match):
    """Bad versions, sizes and ranges raise errors that name the argument."""
    with pytest.raises(exc, match=match):
        call()


@given(st.integers(1, 300), st.one_of(st.none(), st.integers(1, 700)), st.booleans(), st.booleans())
@settings(max_examples=examples(30))
def test_random_sampler_draws(n, num_samples, replacement, own):
    """One full epoch of RandomSampler draws random_sampler_draws words from its generator."""
    gen = torch.Generator().manual_seed(5) if own else torch.default_generator
    before = gen.get_state()
    list(torch.utils.data.RandomSampler(range(n), replacement, num_samples, generator=gen if own else None))
    expected = random_sampler_draws(n, num_samples, replacement, own_generator=own)
    assert draws_between(before, gen.get_state(), 10**6) == expected


def test_versions_outside_the_known_range():
    """Too old, a major release no profile knows, and a newer minor: each named with the known range."""
    with pytest.raises(ValueError, match=r"got 0\.4; profiles describe torch 1\.0 to 2\.14"):
        TorchProfile.of("0.4")
    with pytest.raises(ValueError, match=r"torch_version 3\.0 is a major release no profile describes"):
        TorchProfile.of("3.0")
    with pytest.raises(ValueError, match=r"got 'banana'; profiles describe torch 1\.0 to 2\.14 "
                                         r"\(recorded from the real release: 1\.13, 2\.0"):
        TorchProfile.of("banana")
    with pytest.warns(UserWarning, match=r"torch 2\.99 is newer than every release whose draws are known"):
        assert TorchProfile.of("2.99").version == (2, 99)
    assert TorchProfile.of("2.6").recorded and not TorchProfile.of("1.8").recorded
