"""replay_sampler.advance and draws_between on real torch generators."""

import random
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import replay_sampler
from replay_sampler import MT19937State, NotReachedError, advance, draws_between
from tests.strategies import examples, seeds


class FakeCudaGenerator(torch.Generator):
    """Stands in for a CUDA generator on this CPU-only machine."""

    @property
    def device(self):
        return torch.device("cuda")


@given(seeds, st.integers(0, 300_000))
@settings(max_examples=examples(30))
def test_advance_leaves_the_generator_where_drawing_would(seed, draws):
    """advance(g, n) gives the 5056 bytes torch has after drawing n words itself."""
    ours = torch.Generator().manual_seed(seed)
    theirs = torch.Generator().manual_seed(seed)
    torch.randint(5, (3,), generator=ours)  # start mid-block
    torch.randint(5, (3,), generator=theirs)
    assert advance(ours, draws) is ours
    torch.randperm(draws + 1, generator=theirs)
    assert torch.equal(ours.get_state(), theirs.get_state())
    # and both continue identically
    assert torch.equal(torch.rand(50, generator=ours), torch.rand(50, generator=theirs))


def test_advance_moves_the_global_generator():
    """advance(None, n) and advance(torch.default_generator, n) move torch's global generator."""
    torch.manual_seed(7)
    torch.randperm(1000)
    expected = torch.get_rng_state()
    torch.manual_seed(7)
    advance(None, 999)
    assert torch.equal(torch.get_rng_state(), expected)
    torch.manual_seed(7)
    advance(torch.default_generator, 999)
    assert torch.equal(torch.get_rng_state(), expected)


@pytest.mark.parametrize("draws", [10**9, 2**40, 2**64 - 1])
def test_large_advances_agree_with_composed_small_ones(draws):
    """Big jumps equal a jump to the middle followed by the rest (the paths differ)."""
    a = advance(torch.Generator().manual_seed(3), draws)
    b = advance(advance(torch.Generator().manual_seed(3), draws // 3), draws - draws // 3)
    assert torch.equal(a.get_state(), b.get_state())


@pytest.mark.parametrize(
    "draws, exc, match",
    [
        (-3, ValueError, "draws must be a non-negative integer, got -3"),
        (2.0, TypeError, "draws must be a non-negative integer, got 2.0"),
        (None, TypeError, "draws must be a non-negative integer, got None"),
    ],
)
def test_bad_counts_leave_the_generator_untouched(draws, exc, match):
    """A refused count raises with the argument's name and changes nothing."""
    gen = torch.Generator().manual_seed(1)
    before = gen.get_state()
    with pytest.raises(exc, match=match):
        advance(gen, draws)
    assert torch.equal(gen.get_state(), before)


def test_numpy_integers_are_accepted_as_counts():
    """numpy integer counts work like Python ints."""
    a = advance(torch.Generator().manual_seed(2), np.int64(1234))
    b = advance(torch.Generator().manual_seed(2), 1234)
    assert torch.equal(a.get_state(), b.get_state())


@pytest.mark.parametrize(
    "generator, exc, match",
    [
        (FakeCudaGenerator(), ValueError, "generator is a cuda generator; only CPU generators"),
        (np.random.default_rng(), TypeError, "generator must be a torch.Generator, got Generator"),
        ("cpu", TypeError, "generator must be a torch.Generator, got str"),
    ],
)
def test_non_cpu_generators_are_refused(generator, exc, match):
    """CUDA generators and non-generators are refused with a message naming the argument."""
    with pytest.raises(exc, match=match):
        advance(generator, 1)


@given(seeds, st.integers(0, 3000))
@settings(max_examples=examples(20))
def test_draws_between_measures_what_torch_drew(seed, n):
    """draws_between recovers how many words torch's own operations drew."""
    gen = torch.Generator().manual_seed(seed)
    before = gen.get_state()
    torch.randperm(n + 1, generator=gen)
    torch.empty((), dtype=torch.int64).random_(generator=gen)
    assert draws_between(before, gen.get_state(), 10**6) == n + 2
    assert draws_between(before, gen, 10**6) == n + 2


def test_draws_between_accepts_every_format():
    """Generators and states of torch, numpy and Python's random can be compared."""
    seed = 99
    torch_gen = torch.Generator().manual_seed(seed)
    rs = np.random.RandomState(seed)  # same init_genrand key as torch
    later = np.random.RandomState(seed)
    later.random_sample(10)  # 10 doubles, 20 words
    rnd = random.Random()
    rnd.setstate(MT19937State.from_numpy_legacy(later.get_state()).to_python_random())
    bitgen = np.random.MT19937()
    bitgen.state = later.get_state(legacy=False)
    for b in (later, later.get_state(), rnd, rnd.getstate(), bitgen, np.random.Generator(bitgen),
              bitgen.state):
        assert draws_between(torch_gen, b, 100) == 20
        assert draws_between(rs, b, 100) == 20


def test_draws_between_says_when_the_state_is_out_of_reach():
    """A state behind, unrelated or beyond the limit raises NotReachedError."""
    a = torch.Generator().manual_seed(5)
    b = advance(torch.Generator().manual_seed(5), 1000)
    assert draws_between(a, b, 1000) == 1000
    with pytest.raises(NotReachedError, match="not reached within 999 draws"):
        draws_between(a, b, 999)
    with pytest.raises(NotReachedError):
        draws_between(b, a, 10**5)
    with pytest.raises(NotReachedError):
        draws_between(a, torch.Generator().manual_seed(6), 10**5)


def test_draws_between_rejects_unknown_objects():
    """Objects that are no generator or state are refused by argument name."""
    with pytest.raises(TypeError, match=r"b must be a CPU torch\.Generator"):
        draws_between(torch.Generator(), object(), 1)
    with pytest.raises(ValueError, match="limit must be a non-negative integer"):
        draws_between(torch.Generator(), torch.Generator(), -1)


def test_core_never_imports_torch():
    """Importing replay_sampler.core and using it leaves torch unloaded."""
    code = (
        "import sys; import replay_sampler.core as c;"
        "s = c.MT19937State.from_seed(1).advance(10**12);"
        "c.draws_between(s, s.advance(5), 10); c.randperm_draws(10);"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_public_names_resolve():
    """Every name in replay_sampler.__all__ imports."""
    for name in replay_sampler.__all__:
        assert getattr(replay_sampler, name) is not None


def test_facade_all_lists_the_eager_and_the_lazy_names():
    """__all__ (literal, for type checkers) is exactly the core names plus the lazy ones."""
    eager = {"CorruptStateError", "Draws", "ForeignStateError", "Loader", "MT19937State",
             "NotReachedError", "Run", "Split", "__version__"}
    assert sorted(replay_sampler.__all__) == sorted(eager | set(replay_sampler._LAZY))
