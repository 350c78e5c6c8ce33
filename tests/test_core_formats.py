"""State formats: torch bytes, numpy dicts and tuples, Python's random -- round trips and refusals."""

import random

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from replay_sampler.core import MT19937State, TorchCPUState
from tests.strategies import mt_states, seeds


def torch_state_with_caches(seed: int) -> torch.Tensor:
    """A real torch state whose normal-sample caches are filled."""
    gen = torch.Generator().manual_seed(seed)
    torch.randn(3, generator=gen)  # fills the double cache
    torch.randn(1, generator=gen, dtype=torch.float32)
    torch.randint(10, (7,), generator=gen)
    return gen.get_state()


@given(seeds)
def test_torch_round_trip_is_byte_identical(seed):
    """Parsing and writing back a torch state changes no byte, caches and seed included."""
    raw = torch_state_with_caches(seed)
    state = MT19937State.from_torch(raw)
    assert state.to_torch(raw) == raw.numpy().tobytes()


@given(seeds, st.integers(1, 5000))
def test_moving_a_torch_state_keeps_seed_and_caches(seed, draws):
    """Advancing rewrites only left, next and the key; seed and normal caches stay."""
    raw = torch_state_with_caches(seed)
    moved = MT19937State.from_torch(raw).advance(draws).to_torch(raw)
    before, after = raw.numpy().tobytes(), moved
    assert before[:8] == after[:8]  # seed
    assert before[5016:] == after[5016:]  # normal caches and padding
    gen = torch.Generator()
    gen.set_state(torch.frombuffer(bytearray(moved), dtype=torch.uint8))  # torch accepts it
    assert gen.initial_seed() == torch.Generator().manual_seed(seed).initial_seed()


@given(mt_states())
def test_numpy_dict_round_trip(state):
    """MT19937().state dicts convert both ways and numpy accepts ours."""
    bitgen = np.random.MT19937()
    bitgen.state = state.to_numpy()
    assert MT19937State.from_numpy(bitgen.state) == state


@given(mt_states(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False))
def test_numpy_legacy_round_trip_keeps_gaussian_cache(state, has_gauss, cached):
    """np.random.get_state() tuples round-trip with the Gaussian cache taken from the template."""
    template = ("MT19937", state.key.copy(), state.pos, int(has_gauss), cached)
    rs = np.random.RandomState()
    rs.set_state(state.to_numpy_legacy(template))
    back = rs.get_state()
    assert MT19937State.from_numpy_legacy(back) == state
    assert back[3] == int(has_gauss) and (back[4] == cached or not has_gauss)


@given(mt_states())
def test_python_random_round_trip_and_same_draws(state):
    """random.setstate accepts our state and Python then draws what numpy draws."""
    rnd = random.Random()
    rnd.setstate(state.to_python_random())
    assert MT19937State.from_python_random(rnd.getstate()) == state
    ours = [rnd.getrandbits(32) for _ in range(700)]
    assert np.array_equal(np.array(ours, dtype=np.uint32), state.random_raw(700)[0])


@given(seeds)
def test_torch_and_python_states_describe_the_same_stream(seed):
    """A torch state moved into Python's random makes the words torch's randperm consumed."""
    gen = torch.Generator().manual_seed(seed)
    state = MT19937State.from_torch(gen.get_state())
    rnd = random.Random()
    rnd.setstate(state.to_python_random())
    words = [rnd.getrandbits(32) for _ in range(9)]
    # randperm(10): Fisher-Yates with z = draw % (10 - i), swapping i and i + z.
    expected = list(range(10))
    for i, w in enumerate(words):
        z = w % (10 - i)
        expected[i], expected[i + z] = expected[i + z], expected[i]
    assert torch.randperm(10, generator=gen).tolist() == expected


@pytest.mark.parametrize(
    "value, exc, match",
    [
        (bytes(5048), ValueError, "5048-byte state, the format of torch 1.0/1.1"),
        (bytes(16), ValueError, "16 bytes, the size of a CUDA"),
        (bytes(100), ValueError, "must be a 5056-byte torch CPU generator state .* got 100 bytes"),
        (np.zeros(5056, dtype=np.int64), TypeError, "uint8 tensor/array .* got dtype int64"),
        (torch.zeros(5056, dtype=torch.float32), TypeError, "got dtype float32"),
    ],
)
def test_foreign_torch_states_are_refused(value, exc, match):
    """Wrong sizes, the pre-1.2 layout, CUDA states and other dtypes are refused by name."""
    with pytest.raises(exc, match=match):
        MT19937State.from_torch(value)


def _torch_bytes_with(field: str, value: int) -> bytes:
    raw = bytearray(torch.Generator().manual_seed(1).get_state().numpy().tobytes())
    offsets = {"left": (8, 4), "seeded": (12, 4), "next": (16, 8), "word5": (24 + 5 * 8, 8)}
    start, size = offsets[field]
    raw[start : start + size] = value.to_bytes(size, "little", signed=field in ("left", "seeded"))
    return bytes(raw)


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("left", 0, r"field 'left' must be in \[1, 624\], got 0"),
        ("left", 625, r"field 'left' must be in \[1, 624\], got 625"),
        ("seeded", 0, "field 'seeded' must be 1, got 0"),
        ("next", 625, r"field 'next' must be in \[0, 624\], got 625"),
        ("word5", 2**32, "state word 5 is 4294967296"),
    ],
)
def test_corrupt_torch_fields_are_named(field, value, match):
    """A corrupted field of a torch state is reported with its name and value."""
    with pytest.raises(ValueError, match=match):
        MT19937State.from_torch(_torch_bytes_with(field, value))


@pytest.mark.parametrize(
    "state, exc, match",
    [
        ({"bit_generator": "PCG64", "state": {}}, ValueError, "must be 'MT19937', got 'PCG64'"),
        ({"bit_generator": "MT19937", "state": {"key": np.zeros(624, np.uint32), "pos": 5000}},
         ValueError, r"pos must be in \[0, 624\], got 5000"),
        ({"bit_generator": "MT19937"}, ValueError, "must be a dict with 'key' and 'pos'"),
        ([1, 2], TypeError, "must be a dict like MT19937\\(\\).state, got list"),
    ],
)
def test_bad_numpy_states_are_refused(state, exc, match):
    """numpy state dicts for other generators or with out-of-range pos are refused."""
    with pytest.raises(exc, match=match):
        MT19937State.from_numpy(state)


@pytest.mark.parametrize(
    "state, match",
    [
        ((2, tuple(range(625)), None), "random state version must be 3, got 2"),
        ((3, tuple(range(10)), None), "must hold 625 integers, got 10"),
        ("nope", "must be the 3-tuple of random.getstate"),
    ],
)
def test_bad_python_states_are_refused(state, match):
    """Python random states of another version or length are refused."""
    with pytest.raises(ValueError, match=match):
        MT19937State.from_python_random(state)


def test_pos_zero_has_no_torch_form():
    """A pos-0 state cannot be written as torch bytes; the error says why."""
    state = MT19937State(MT19937State.from_seed(1).key, 0)
    with pytest.raises(ValueError, match="pos 0 has no torch equivalent"):
        state.to_torch(seed=1)


def test_torch_state_parser_exposes_seed():
    """TorchCPUState reads the recorded seed."""
    raw = torch.Generator().manual_seed(12345).get_state()
    assert TorchCPUState.parse(raw).seed == 12345


@given(seeds, st.integers(0, 3000))
def test_to_torch_with_a_seed_continues_like_torch(seed, draws):
    """to_torch(seed=) of a state k draws after manual_seed is torch's state after those draws."""
    gen = torch.Generator().manual_seed(seed)
    torch.randperm(draws + 1, generator=gen)
    assert MT19937State.from_seed(seed).advance(draws).to_torch(seed=seed) == gen.get_state().numpy().tobytes()
