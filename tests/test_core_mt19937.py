"""The MT19937 model and jump-ahead, checked against numpy's and torch's own stepping."""

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from replay_sampler.core import MT19937State, _gf2, temper, untemper
from tests.strategies import big_counts, counts, examples, mt_states, seeds, special_counts


def numpy_stepped(state: MT19937State, draws: int) -> MT19937State:
    """Reference: numpy's C generator draws ``draws`` words one by one."""
    bitgen = np.random.MT19937()
    bitgen.state = {"bit_generator": "MT19937", "state": {"key": state.key, "pos": state.pos}}
    bitgen.random_raw(draws, output=False)
    return MT19937State.from_numpy(bitgen.state)


def torch_stepped_bytes(seed: int, draws: int) -> bytes:
    """Reference: a torch generator seeded with ``seed`` draws ``draws`` words."""
    gen = torch.Generator().manual_seed(seed)
    torch.randperm(draws + 1, generator=gen)  # randperm(n) draws n - 1 words
    return gen.get_state().numpy().tobytes()


@given(seeds)
def test_from_seed_is_what_manual_seed_and_legacy_numpy_set(seed):
    """from_seed gives the key torch's manual_seed and numpy's legacy seeding write."""
    state = MT19937State.from_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    assert state.to_torch(seed=seed) == gen.get_state().numpy().tobytes()
    legacy = np.random.RandomState(seed & 0xFFFFFFFF).get_state()
    assert np.array_equal(state.key, legacy[1]) and state.pos == legacy[2]


@given(mt_states(), st.integers(1, 3000))
def test_outputs_are_numpy_outputs_and_untemper_inverts_them(state, count):
    """random_raw yields numpy's tempered words; untemper recovers the key words."""
    ours, after = state.random_raw(count)
    bitgen = np.random.MT19937()
    bitgen.state = state.to_numpy()
    assert np.array_equal(ours, bitgen.random_raw(count))
    assert after == MT19937State.from_numpy(bitgen.state)
    assert np.array_equal(temper(untemper(ours)), ours)
    fresh = MT19937State(state.key, 0)
    assert np.array_equal(untemper(fresh.random_raw(624)[0]), state.key)


def test_characteristic_polynomial_annihilates_the_output_stream():
    """The closed-form P has 135 terms, degree 19937, and every bit of numpy's raw stream obeys it."""
    p = _gf2.charpoly()
    taps = [k for k in range(p.bit_length()) if p >> k & 1]
    assert len(taps) == 135 and taps[-1] == 19937 and taps[0] == 0
    bitgen = np.random.MT19937(2024)
    raw = untemper(bitgen.random_raw(19937 + 2000))[1:]  # x_1.. : all 32 bits obey P
    acc = np.zeros(2000 - 1, dtype=np.uint32)
    for k in taps:
        acc ^= raw[k : k + 2000 - 1]
    assert not acc.any()


@given(mt_states(), counts)
def test_advance_equals_numpy_stepping(state, draws):
    """advance(n) lands exactly where numpy's generator is after n draws."""
    assert state.advance(draws) == numpy_stepped(state, draws)


@pytest.mark.parametrize("draws", [0, 1, 623, 624, 625, 19937, 10**6, 10**8 + 3])
@given(state=mt_states())
@settings(max_examples=examples(3))
def test_advance_equals_numpy_stepping_at_boundaries(state, draws):
    """Block edges, the polynomial degree, and a 10**8 + k jump, inside any block position."""
    assert state.advance(draws) == numpy_stepped(state, draws)


@given(seeds, st.one_of(special_counts.filter(lambda n: n < 10**7), st.integers(0, 2 * 10**6)))
@settings(max_examples=examples(25))
def test_advance_gives_the_bytes_torch_has_after_drawing(seed, draws):
    """The 5056-byte torch state after advance equals torch's after drawing n words."""
    gen = torch.Generator().manual_seed(seed)
    template = gen.get_state()
    ours = MT19937State.from_torch(template).advance(draws).to_torch(template)
    if draws == 0:
        assert ours == template.numpy().tobytes()
    else:
        assert ours == torch_stepped_bytes(seed, draws)


@given(mt_states(), big_counts, big_counts)
@settings(max_examples=examples(15))
def test_advance_composes(state, a, b):
    """advance(a) then advance(b) is advance(a + b), for counts up to 2**128."""
    assert state.advance(a).advance(b) == state.advance(a + b)


@given(mt_states(pos=st.integers(1, 624)))
@settings(max_examples=examples(3))
def test_the_period_returns_every_state(state):
    """2**19937 - 1 draws, the period, bring a state back to itself."""
    back = state.advance(_gf2.PERIOD)
    assert back.same_stream(state)


@pytest.mark.parametrize("seed", [0, 5, 2**32 - 1])
def test_numpy_jumped_is_our_2_to_128_jump_as_a_state(seed):
    """numpy's MT19937.jumped() state, read as a window, is our advance by 2**128.

    numpy's jump code comes from the reference implementation, which keeps the
    state as a circular buffer: the window is ``key[pos:] + key[:pos]`` and a
    step rewrites one word in place.  numpy's generator instead regenerates
    whole blocks and reads ``key[pos:]`` as the rest of the current block.  So
    (1) a state at ``pos == 624`` is jumped from the start of its block
    (numpy resets pos to 0), i.e. by 2**128 - 624 draws from where it stands;
    (2) the jumped key is returned with ``pos = 589``, and from the 36th draw
    on numpy regenerates a "block" from a buffer that is not one, so its
    stream departs from the 2**128-advanced stream; (3) Horner's sum also
    carries the low 31 bits of the window's first word, which are not part of
    the 19937-bit state, so the first draw differs too.  Compared as states
    (19937 bits), the two agree.
    """
    bitgen = np.random.MT19937()
    bitgen._legacy_seeding(seed)
    state = MT19937State.from_numpy(bitgen.state)
    assert state.pos == 624
    jumped = bitgen.jumped().state["state"]
    window = np.roll(jumped["key"], -jumped["pos"])
    ours = MT19937State(state.key, 0).advance(2**128).raw_words(624)
    assert np.array_equal(window[1:], ours[1:])
    assert (window[0] ^ ours[0]) >> 31 == 0
    # ... and the streams do part: draws 2..35 agree, the first and later ones do not.
    assert jumped["pos"] == 589
    theirs = bitgen.jumped().random_raw(100)
    ours_out = MT19937State(state.key, 0).advance(2**128).random_raw(100)[0]
    assert np.array_equal(theirs[1:35], ours_out[1:35])
    assert theirs[0] != ours_out[0] and not np.array_equal(theirs[35:], ours_out[35:])


def test_x_power_mod_p_matches_direct_reduction():
    """The trace-window exponentiation agrees with x**m mod P built one factor x at a time."""
    p = _gf2.charpoly()
    wanted = {0, 1, 19936, 19937, 19938, 40000, 2**20 - 1, 2**20, 2**20 + 1}
    power = 1
    for m in range(max(wanted) + 1):
        if m in wanted:
            assert _gf2.x_power_mod_p(m) == power, m
        power <<= 1
        if power >> 19937:
            power ^= p


def test_shipped_jump_table_is_what_its_script_generates():
    """_data/mt19937_trace.npy is reproduced by the script beside it."""
    from replay_sampler.core._data import make_trace_table

    assert np.array_equal(make_trace_table.build(), _gf2._table())


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        (-1, ValueError, "draws must be a non-negative integer, got -1"),
        (1.5, TypeError, "draws must be a non-negative integer, got 1.5"),
        (True, TypeError, "draws must be a non-negative integer, got True"),
        ("10", TypeError, "draws must be a non-negative integer, got '10'"),
    ],
)
def test_bad_draw_counts_are_refused(bad, exc, match):
    """Negative, fractional, boolean and string counts are errors naming 'draws'."""
    with pytest.raises(exc, match=match):
        MT19937State.from_seed(1).advance(bad)


@pytest.mark.parametrize(
    "key, pos, exc, match",
    [
        (np.zeros(623, np.uint32), 0, ValueError, r"key must hold 624 words, got shape \(623,\)"),
        (np.zeros(624, np.uint32), 625, ValueError, r"pos must be in \[0, 624\], got 625"),
        (np.zeros(624, np.uint32), -1, ValueError, r"pos must be in \[0, 624\], got -1"),
        (np.full(624, 2**32, np.int64), 0, ValueError, r"key words must be in \[0, 2\*\*32\)"),
        (np.zeros(624, np.float64), 0, TypeError, "key must be an integer array"),
    ],
)
def test_invalid_states_are_refused(key, pos, exc, match):
    """Keys of the wrong length or range and positions outside [0, 624] are refused."""
    with pytest.raises(exc, match=match):
        MT19937State(key, pos)


def test_states_are_immutable_values():
    """States compare by value, hash, and their key cannot be written."""
    a = MT19937State.from_seed(3)
    b = MT19937State.from_seed(3)
    assert a == b and hash(a) == hash(b) and a.advance(1) != a
    with pytest.raises(ValueError):
        a.key[0] = 1


def test_public_state_fallback_engine_agrees():
    """Without the direct struct access (a future numpy), the public-state path gives the same."""
    from replay_sampler.core import _engine

    fast, slow = _engine._Engine(), _engine._Engine()
    slow.view = None
    key = MT19937State.from_seed(9).key
    assert np.array_equal(fast.regenerate(key, 3), slow.regenerate(key, 3))
    a, b = fast.raw(key, 100, 2000), slow.raw(key, 100, 2000)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]
    partial = np.arange(4 * 624, dtype=np.uint32).reshape(4, 624)
    assert np.array_equal(fast.horner(partial), slow.horner(partial))


@given(mt_states(), st.integers(0, 5000), st.integers(0, 623))
@settings(max_examples=examples(60))
def test_draws_between_finds_the_stream_and_nothing_that_only_starts_like_it(state, d, flip):
    """draws_between returns d for numpy's own stepping of ``state`` by d, also written at
    another block offset (a spent block against its regeneration); a state whose next 624
    outputs differ from it in one word only -- the rest of the window agreeing -- is not
    the same stream and is not found."""
    from replay_sampler.core import NotReachedError
    from replay_sampler.core._distance import draws_between

    # the all-zero stream (next 624 outputs zero, so every later one too) is MT19937's one
    # degenerate state: it is its own advance by any count, so no distance is unique there
    assume(state.random_raw(624)[0].any())
    target = numpy_stepped(state, d)
    assert draws_between(state, target, d) == d
    if target.pos == 624:  # the same stream written as the regenerated block at pos 0
        regenerated = numpy_stepped(target, 1)  # one draw regenerates it ...
        again = MT19937State(regenerated.key, 0)  # ... and pos 0 is the block's start
        assert draws_between(state, again, d) == d
    outputs, _ = target.random_raw(624)
    words = untemper(outputs).copy()
    words[flip] ^= 1  # one bit of one word of the window
    other = MT19937State(words, 0)  # the 624 words of the window, as a block at pos 0
    assert not other.same_stream(target)
    with pytest.raises(NotReachedError):
        draws_between(state, other, d + 10)
