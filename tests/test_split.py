"""replayable_random_split against torch's random_split."""

import io
import itertools
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import random_split

from replay_sampler import SplitRecord, replayable_random_split
from tests.sampler_runs import Indices
from tests.strategies import examples, seeds


def both(n, lengths, seed, explicit):
    """Run torch's split and ours from identical generators; return subsets, states, warnings."""
    out = []
    for fn in (random_split, replayable_random_split):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed) if explicit else None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            kwargs = {"generator": gen} if explicit else {}
            subsets = fn(Indices(n), lengths, **kwargs)
        state = (gen if explicit else torch.default_generator).get_state()
        out.append(([list(s.indices) for s in subsets], state, [str(w.message) for w in caught]))
    return out


@st.composite
def integer_lengths(draw):
    parts = draw(st.lists(st.integers(0, 60), min_size=1, max_size=5))
    return sum(parts), parts


@st.composite
def fractions(draw):
    n = draw(st.integers(0, 3000))
    k = draw(st.integers(1, 5))
    cuts = sorted(draw(st.lists(st.integers(0, 1000), min_size=k - 1, max_size=k - 1)))
    bounds = [0, *cuts, 1000]
    return n, [(b - a) / 1000 for a, b in itertools.pairwise(bounds)]


@given(st.one_of(integer_lengths(), fractions()), seeds, st.booleans())
@settings(max_examples=examples(80))
def test_same_subsets_draws_and_warnings(case, seed, explicit):
    """Same subsets, same generator state after, same warnings -- lengths or fractions."""
    n, lengths = case
    try:
        (a, sa, wa), (b, sb, wb) = both(n, lengths, seed, explicit)
    except ValueError as exc:  # both must refuse alike
        with pytest.raises(ValueError, match=str(exc)[:40].replace("(", r"\(")):
            replayable_random_split(Indices(n), lengths)
        return
    assert a == b and torch.equal(sa, sb) and wa == wb


def test_fractions_floor_then_round_robin():
    """[0.8, 0.2] of 1806 items is 1445/361: floor, then the remainder round robin."""
    torch.manual_seed(1)
    train, test = replayable_random_split(Indices(1806), [0.8, 0.2])
    assert (len(train), len(test)) == (1445, 361)


def test_integer_lengths_summing_to_one_are_taken_as_fractions():
    """torch's quirk: [0, 1] of a 1-item dataset goes through the fraction path and warns."""
    with pytest.warns(UserWarning, match="Length of split at index 0 is 0"):
        subsets = replayable_random_split(Indices(1), [0, 1])
    assert [len(s) for s in subsets] == [0, 1]


@pytest.mark.parametrize(
    "n, lengths, match",
    [
        (10, [3, 3], "Sum of input lengths does not equal the length of the input dataset!"),
        (10, [1.2, -0.2], "Fraction at index 0 is not between 0 and 1"),
        (10, [0.5, 0.6], "Sum of input lengths does not equal"),
    ],
)
def test_lengths_that_do_not_add_up_are_refused(n, lengths, match):
    """Torch's own errors, and no draw from the generator when refused."""
    gen = torch.Generator().manual_seed(0)
    before = gen.get_state()
    with pytest.raises(ValueError, match=match):
        replayable_random_split(Indices(n), lengths, generator=gen)
    assert torch.equal(gen.get_state(), before)


def test_record_recomputes_and_verifies_the_split():
    """The record rebuilds the subsets from the saved generator state and checks a later split."""
    torch.manual_seed(7)
    split = replayable_random_split(Indices(500), [0.7, 0.2, 0.1])
    buffer = io.BytesIO()
    torch.save(split.record.to_dict(), buffer)
    buffer.seek(0)
    record = SplitRecord.from_dict(torch.load(buffer, weights_only=True))
    assert record.indices() == [list(s.indices) for s in split]
    torch.manual_seed(7)
    again = replayable_random_split(Indices(500), [0.7, 0.2, 0.1])
    again.verify(record)
    again.verify([list(s.indices) for s in split])
    torch.manual_seed(8)
    other = replayable_random_split(Indices(500), [0.7, 0.2, 0.1])
    with pytest.raises(ValueError, match="subset 0 differs from the saved split at position 0"):
        other.verify(record)


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda r: r.update(version=9), "format version 9"),
        (lambda r: r.update(kind="x"), "record\\['kind'\\] must be"),
        (lambda r: r.update(lengths=[1, 2]), "sum to 3, not record\\['dataset_size'\\]=10"),
        (lambda r: r.update(generator_state=torch.zeros(5048, dtype=torch.uint8)), "5048-byte state"),
    ],
)
def test_foreign_records_are_refused(mutate, match):
    """Records of another version, kind, size or a foreign generator state are refused."""
    record = replayable_random_split(Indices(10), [5, 5]).record.to_dict()
    mutate(record)
    with pytest.raises(ValueError, match=match):
        SplitRecord.from_dict(record)


def test_cuda_generators_are_refused():
    """A non-CPU generator is refused before anything is drawn."""

    class FakeCuda(torch.Generator):
        @property
        def device(self):
            return torch.device("cuda")

    with pytest.raises(ValueError, match="generator is a cuda generator"):
        replayable_random_split(Indices(4), [2, 2], generator=FakeCuda())
