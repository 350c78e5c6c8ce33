"""Counting a loop's draws under another release: the write-up's loop, run on
the installed torch, priced per release against what each release recorded."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, random_split

from replay_sampler import DrawRecord, measure_draws, record_draws
from tests.reference import vectors

RELEASES = {vectors.release_of(p): p for p in vectors.FILES}


def _writeup_parts():
    """The recorder's write-up loop (record_release.sc_writeup_loop), up to the loop."""
    torch.manual_seed(1)
    np.random.seed(1)
    random.seed(1)
    dgen = torch.Generator().manual_seed(1234)
    n = 1806
    ds = TensorDataset(torch.randn(n, 8, generator=dgen), torch.randn(n, 1, generator=dgen),
                       torch.arange(n))
    train, test = random_split(ds, [0.8, 0.2])
    return train, test


def _model():
    return nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Dropout(0.3), nn.Linear(64, 1))


@pytest.fixture(scope="module")
def writeup_records():
    """The prologue's model init, one train epoch and one eval pass, recorded once."""
    with torch.random.fork_rng(devices=[]):
        train, test = _writeup_parts()
        init = record_draws(_model)
        model = _model()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        train_loader = DataLoader(train, batch_size=64, shuffle=True)
        test_loader = DataLoader(test, batch_size=64)

        def train_epoch():
            model.train()
            for xb, yb, _ in train_loader:
                opt.zero_grad()
                nn.functional.mse_loss(model(xb), yb).backward()
                opt.step()

        def eval_epoch():
            model.eval()
            with torch.no_grad():
                for xb, yb, _ in test_loader:
                    nn.functional.mse_loss(model(xb), yb)

        return init, record_draws(train_epoch), record_draws(eval_epoch)


@pytest.mark.filterwarnings("ignore:this code draws")  # the drift warning, pinned below
@pytest.mark.parametrize("release", sorted(RELEASES))
def test_writeup_loop_priced_per_release(release, writeup_records):
    """The loop recorded on today's torch, priced under each release, is what that release drew."""
    rec = vectors.load(RELEASES[release])["scenarios"]["writeup_loop"]
    init, train, evaluation = writeup_records
    assert init.total(release) == rec["model_init_draws"]
    assert train.total(release) == rec["epoch_train_draws"][0]
    assert evaluation.total(release) == rec["epoch_eval_draws"][0]


@pytest.mark.filterwarnings("ignore:this code draws")
def test_wrong_release_prices_the_loop_wrong(writeup_records):
    """Negative control: 2.6's loop priced by 2.7's rules is not what 2.6 drew."""
    rec = vectors.load(RELEASES["2.6.0"])["scenarios"]["writeup_loop"]
    assert writeup_records[1].total("2.7") != rec["epoch_train_draws"][0]


def test_record_lists_the_ops(writeup_records):
    """The record names each random op with its shape; dropout shows as bernoulli_.float."""
    train = writeup_records[1]
    assert isinstance(train, DrawRecord)
    ops = {(op.op, op.shape) for op in train.on_generator()}
    assert ("dropout", (64, 64)) in ops and ("random_", ()) in ops
    assert train.unexplained == 0
    assert train.total() == train.measured
    text = train.explain("2.6")
    assert "dropout [64, 64] float32" in text and "22x" in text


def test_measure_draws_under_a_release_leaves_the_generator():
    """measure_draws(torch_version=) prices by the release and moves no generator."""
    before = torch.get_rng_state()
    x = torch.ones(64, 8)
    with pytest.warns(UserWarning, match="exact to the start of the resumed epoch"):
        assert measure_draws(lambda: nn.functional.dropout(x, 0.5), torch_version="2.6") == 1
    assert measure_draws(lambda: nn.functional.dropout(x, 0.5), torch_version="2.7") == 1024
    assert measure_draws(lambda: nn.functional.dropout(x, 0.5), torch_version="2.6", mkl=False) == 1024
    assert measure_draws(lambda: nn.functional.dropout(x, 0.5)) == 1024
    assert torch.equal(torch.get_rng_state(), before)


def test_other_generators_are_not_counted():
    """Ops on another generator are recorded but not counted."""
    g = torch.Generator().manual_seed(3)
    record = record_draws(lambda: (torch.randperm(10, generator=g), torch.rand(3)))
    assert [op.measured for op in record.ops] == [False, True]
    assert record.total("2.6") == 3


def test_unknown_random_op_is_reported():
    """An op no rule prices is named in a warning, and counted as measured."""
    record = record_draws(lambda: torch.multinomial(torch.ones(10), 2))
    assert record.unknown() == ("multinomial",)
    with pytest.warns(UserWarning, match=r"no rule prices multinomial under torch 2\.6"):
        assert record.total("2.6") == record.measured


def test_bad_version_refused_before_fn_runs():
    """A bad torch_version raises before fn runs."""
    ran = []
    with pytest.raises(ValueError, match=r"torch_version must look like '2\.13'"):
        measure_draws(lambda: ran.append(1), torch_version="banana")
    assert ran == []


def test_resuming_under_other_kernels_warns_once():
    """Pricing a dropout loop under 2.6 on a later torch says where exactness ends, once."""
    x = torch.ones(64, 9)  # a shape no other test prices: the warning comes once per count
    record = record_draws(lambda: nn.functional.dropout(x, 0.5, training=True))
    with pytest.warns(UserWarning, match=r"draws 1 under torch 2\.6 and 1,152 on the installed.*"
                                         r"exact to the start of the resumed epoch, not after"):
        record.total("2.6")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert record.total("2.6") == 1  # once


def test_sampler_advice_names_the_run_release():
    """The self-check's advice for an old release's sampler points to pricing under that release."""
    from replay_sampler import ReplayableRandomSampler

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        sampler = ReplayableRandomSampler(range(10), torch_version="2.6", draws_per_epoch=2)
        with pytest.warns(UserWarning, match=r"the run was made under torch 2\.6.*"
                                             r"measure_draws\(one_epoch, torch_version='2\.6'\)"):
            for _ in range(3):
                list(sampler)
                torch.rand(5)


def test_explain_lists_the_ops_of_a_recorded_step():
    """A recorded prologue step shows a line per op in Run.explain."""
    from replay_sampler import Run

    step = record_draws(_model).as_draws("model init", "2.6")
    assert step.count == 641
    text = Run(1, prologue=(step,), torch_version="2.6").explain(0)
    assert "model init: 641 draws" in text and "init.kaiming_uniform_ [64, 8] float32 (1x)" in text
