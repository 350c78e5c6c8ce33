"""A resumed run, in a fresh process, equals the tail of an uninterrupted plain-torch run.

Each test runs two subprocesses of ``tests/sampler_runs.py``: the
uninterrupted run with plain torch (``DataLoader(shuffle=True)``,
``random_split``), and the resumed run that starts from the same seed and
prologue, uses ``ReplayableRandomSampler`` and calls ``set_epoch(e)``.
Indices and the full 5056-byte generator states are compared after every
epoch.
"""


import itertools

import pytest

from replay_sampler import draws_between
from tests.fresh import fresh_run


def fresh(**config):
    return fresh_run("tests.sampler_runs", config)


def assert_same_tail(full, resumed, start):
    assert [r["epoch"] for r in resumed] == list(range(start, len(full)))
    for a, b in zip(full[start:], resumed):
        assert a["indices"] == b["indices"], f"epoch {a['epoch']}: indices differ"
        assert a["global"] == b["global"], f"epoch {a['epoch']}: global generator state differs"
        assert a["explicit"] == b["explicit"], f"epoch {a['epoch']}: explicit generator state differs"


def test_the_original_writeups_loop_resumes_at_the_tenth_epoch():
    """Seed 1, random_split(1806, [0.8, 0.2]), shuffled train + plain test loader, batch 64, resume at epoch 9."""
    full = fresh(mode="torch", epochs=12)
    assert len(full[0]["indices"]) == 1445  # not int(0.8 * 1806) = 1444
    resumed = fresh(mode="replay", start=9, epochs=12)
    assert_same_tail(full, resumed, 9)


def test_explicit_generator_loader_resumes():
    """DataLoader(shuffle=True, generator=g): the sampler and the base seed draw from g."""
    cfg = {"generator": "explicit", "epochs": 8}
    assert_same_tail(fresh(mode="torch", **cfg), fresh(mode="replay", start=5, **cfg), 5)


def test_replacement_with_num_samples_resumes():
    """RandomSampler(replacement=True, num_samples=k) over an explicit generator."""
    cfg = {"generator": "explicit", "replacement": True, "num_samples": 700, "epochs": 6}
    assert_same_tail(fresh(mode="torch", **cfg), fresh(mode="replay", start=4, **cfg), 4)


def test_num_samples_above_the_dataset_size_resumes():
    """num_samples > len(dataset) without replacement: several permutations per epoch."""
    cfg = {"num_samples": 3000, "epochs": 5, "test_loader": False}
    assert_same_tail(fresh(mode="torch", **cfg), fresh(mode="replay", start=3, **cfg), 3)


def test_two_workers_resume():
    """num_workers=2: the base seed is still drawn in the main process each epoch."""
    cfg = {"num_workers": 2, "epochs": 5, "size": 400}
    assert_same_tail(fresh(mode="torch", **cfg), fresh(mode="replay", start=3, **cfg), 3)


def test_persistent_workers_resume():
    """persistent_workers=True: base seed once; the fresh process's loader draws it again."""
    cfg = {"num_workers": 2, "persistent": True, "epochs": 5, "size": 400, "test_loader": False}
    assert_same_tail(fresh(mode="torch", **cfg), fresh(mode="replay", start=3, **cfg), 3)


def test_drop_last_and_epochs_cut_short_resume():
    """drop_last, and a loop breaking out of every epoch: the trailing randperm is never drawn."""
    cfg = {"drop_last": True, "break_after": 5, "epochs": 6, "generator": "explicit"}
    full = fresh(mode="torch", **cfg)
    stride = draws_between(bytes.fromhex(full[0]["explicit"]), bytes.fromhex(full[1]["explicit"]), 10**6)
    assert stride == 2 + 1444  # base seed + one randperm(1445); no trailing randperm(1445)[:0]
    assert_same_tail(full, fresh(mode="replay", start=4, draws_per_epoch=stride, **cfg), 4)


def test_dropout_loop_resumes_with_the_measured_stride():
    """A loop with dropout on the CPU: measure its draws per epoch, pass them, resume exactly."""
    cfg = {"loop_draws": "dropout", "epochs": 6, "size": 300}
    full = fresh(mode="torch", **cfg)
    strides = {
        draws_between(bytes.fromhex(a["global"]), bytes.fromhex(b["global"]), 10**7)
        for a, b in itertools.pairwise(full)
    }
    assert len(strides) == 1
    resumed = fresh(mode="replay", start=4, draws_per_epoch=strides.pop(), **cfg)
    assert_same_tail(full, resumed, 4)


def test_set_epoch_every_epoch_with_uneven_draws_changes_nothing():
    """An uninterrupted run calling set_epoch each epoch, drawing unevenly, equals plain torch."""
    cfg = {"loop_draws": "uneven", "epochs": 6, "size": 300}
    assert_same_tail(fresh(mode="torch", **cfg), fresh(mode="replay", start=0, **cfg), 0)


@pytest.mark.parametrize("workers", [0, 2])
def test_mid_epoch_resume_in_a_fresh_process(tmp_path, workers):
    """Saved after 7 batches of epoch 5, a fresh process yields the rest and continues identically."""
    state = str(tmp_path / "sampler.pt")
    cfg = {"epochs": 8, "size": 1000, "num_workers": workers, "loop_draws": "dropout"}
    full = fresh(mode="torch", **cfg)
    stride = draws_between(bytes.fromhex(full[0]["global"]), bytes.fromhex(full[1]["global"]), 10**7)
    cfg["draws_per_epoch"] = stride
    original = fresh(mode="replay", save_at=[5, 7], state_file=state, **cfg)
    assert_same_tail(full, original, 0)  # the drop-in changed nothing
    resumed = fresh(mode="resume", start=5, state_file=state, **cfg)
    assert resumed[0]["indices"] == full[5]["indices"][7 * 64 :]
    resumed[0]["indices"] = full[5]["indices"]
    assert_same_tail(full, resumed, 5)
