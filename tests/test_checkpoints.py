"""Checkpoint files: the layouts --check and check() read, safe loading, atomic saves,
checksums; every file made by the real tools (numpy, random, torch, Lightning)."""

import random

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, random_split

import replay_sampler as rs
from replay_sampler import CorruptStateError, ForeignStateError, Loader, Run, Split
from tests.sampler_runs import Indices, seed_everything

RUN = Run(seed=1, prologue=(Split(1806, (0.8, 0.2)),),
          loaders=(Loader(1445, shuffle=True, label="train"), Loader(361, label="test")))


def real_states_at(epoch):
    """The write-up's loop on real torch: the three global states at the start of ``epoch``."""
    seed_everything(1)
    train, test = random_split(Indices(1806), [0.8, 0.2])
    loaders = [DataLoader(train, batch_size=64, shuffle=True), DataLoader(test, batch_size=64)]
    for _ in range(epoch):
        for loader in loaders:
            list(loader)
    return torch.get_rng_state(), np.random.get_state(), random.getstate()


def agrees(findings, generators):
    assert sorted(f.generator for f in findings) == sorted(generators), findings
    assert all(f.agrees for f in findings), findings


def test_writeup_layout_with_numpy_tuple_loads_safely(tmp_path):
    """The write-up's keys, numpy's state as np.random.get_state() returns it (an ndarray)."""
    t, n, p = real_states_at(3)
    path = tmp_path / "writeup.pt"
    torch.save({"model": {"w": torch.zeros(2)}, "torch_rng_state": t, "numpy_rng_state": n,
                "python_rng_state": p}, path)
    with pytest.raises(Exception, match="Weights only load failed"):
        torch.load(path, weights_only=True)  # what torch alone does with it
    data = rs.load_checkpoint(path)
    assert isinstance(data["numpy_rng_state"][1], np.ndarray)
    agrees(rs.check(RUN, 3, path), ["torch", "numpy", "random"])
    agrees(rs.check(RUN, 3, str(path)), ["torch", "numpy", "random"])
    agrees(rs.check(RUN, 3, data), ["torch", "numpy", "random"])


def test_hugging_face_rng_state_pth(tmp_path):
    """HF Trainer's rng_state.pth: python, numpy, cpu keys."""
    t, n, p = real_states_at(2)
    path = tmp_path / "rng_state.pth"
    torch.save({"python": p, "numpy": n, "cpu": t}, path)
    agrees(rs.check(RUN, 2, path), ["torch", "numpy", "random"])
    findings = {f.generator: f for f in rs.check(RUN, 3, path)}
    assert not findings["torch"].agrees  # a checkpoint of epoch 2 is not the start of epoch 3


def test_our_own_file(tmp_path):
    """A States.save file: checked, and restored with apply()."""
    path = tmp_path / "states.pt"
    rs.reconstruct(RUN, 4).save(path)
    agrees(rs.check(RUN, 4, path), ["torch", "numpy", "random"])
    torch.manual_seed(5)
    rs.States.load(path).apply()
    assert torch.equal(torch.get_rng_state(), real_states_at(4)[0])


def test_lightning_checkpoint(tmp_path):
    """A real Trainer.save_checkpoint file: read safely; the states a module added are checked."""
    import lightning as L
    from torch.utils.data import TensorDataset

    t, n, p = real_states_at(1)

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(2, 1)

        def training_step(self, batch, i):
            return self.layer(batch[0]).sum()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

        def on_save_checkpoint(self, checkpoint):
            checkpoint.update(torch_rng_state=t, numpy_rng_state=n, python_rng_state=p)

    trainer = L.Trainer(max_steps=1, logger=False, enable_checkpointing=False, accelerator="cpu",
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(Module(), DataLoader(TensorDataset(torch.randn(4, 2)), batch_size=2))
    path = tmp_path / "last.ckpt"
    trainer.save_checkpoint(path)
    from replay_sampler.runs._states import saved_states

    layout, _ = saved_states(path)
    assert layout == "Lightning checkpoint"
    agrees(rs.check(RUN, 1, path), ["torch", "numpy", "random"])


@pytest.mark.parametrize("saved, error, message", [
    (5, TypeError, "saved must be a checkpoint: a path, the dict torch.load returned, or a States; got int"),
    (None, TypeError, "saved must be a checkpoint.*got NoneType"),
    ("garbage", ValueError, "saved='garbage' names no checkpoint file"),
    (torch.zeros(3), TypeError, "saved must be a checkpoint.*got Tensor"),
])
def test_check_validates_saved(saved, error, message):
    """check() names `saved` and what it expects; nothing else is touched."""
    before = torch.get_rng_state()
    with pytest.raises(error, match=message):
        rs.check(RUN, 2, saved)
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize("kwargs, message", [
    ({"epoch": -1}, "epoch must be a non-negative integer, got -1"),
    ({"epoch": 1.5}, "epoch must be"),
    ({"epoch": 2, "limit": -1}, "limit must be a non-negative integer, got -1"),
])
def test_check_validates_epoch_and_limit(kwargs, message):
    """check() refuses a bad epoch or limit before it reconstructs anything."""
    with pytest.raises((TypeError, ValueError), match=message):
        rs.check(RUN, saved={}, **kwargs)


def test_check_refuses_a_run_that_is_not_one():
    with pytest.raises(TypeError, match=r"run must be a replay_sampler\.Run"):
        rs.check("run", 2, {})


def test_flipped_bit_in_states_file_is_refused(tmp_path):
    """One bit flipped inside a saved generator state: CorruptStateError naming the file."""
    path = tmp_path / "states.pt"
    rs.reconstruct(RUN, 2).save(path)
    data = rs.load_checkpoint(path)
    data["numpy_rng_state"][1][100] ^= 1
    torch.save(data, path)
    with pytest.raises(CorruptStateError, match=f"{path}.*checksum.*does not match"):
        rs.States.load(path)
    with pytest.raises(CorruptStateError):
        rs.check(RUN, 2, path)


def test_old_states_file_without_checksum_still_loads(tmp_path):
    """Files of replay_sampler 0.1 carry no checksum and still load."""
    path = tmp_path / "old.pt"
    data = rs.reconstruct(RUN, 2).to_dict()
    del data["replay_sampler"]["checksum"]
    torch.save(data, path)
    assert rs.States.load(path) == rs.reconstruct(RUN, 2)


def test_save_checkpoint_is_atomic_and_leaves_no_temp_file(tmp_path):
    """save_checkpoint replaces the file whole; a failing save leaves the old file and no temp."""
    path = tmp_path / "ckpt.pt"
    rs.save_checkpoint({"step": 1}, path)
    rs.save_checkpoint({"step": 2}, path)
    assert rs.load_checkpoint(path) == {"step": 2}

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    with pytest.raises(RuntimeError, match="cannot pickle"):
        rs.save_checkpoint({"step": 3, "bad": Unpicklable()}, path)
    assert rs.load_checkpoint(path) == {"step": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]
    with pytest.raises(FileNotFoundError, match="folder does not exist"):
        rs.save_checkpoint({}, tmp_path / "none" / "x.pt")
    with pytest.raises(IsADirectoryError):
        rs.save_checkpoint({}, tmp_path)


def test_every_truncation_of_a_plain_save_is_refused_clearly(tmp_path):
    """A plain torch.save cut short anywhere: 'truncated or corrupt checkpoint: PATH'."""
    full = tmp_path / "full.pt"
    torch.save({"w": torch.randn(500), "numpy_rng_state": np.random.get_state()}, full)
    data = full.read_bytes()
    cut = tmp_path / "cut.pt"
    for n in [0, 1, 2, 10, 100, *range(200, len(data), 211), len(data) - 1]:
        cut.write_bytes(data[:n])
        with pytest.raises(CorruptStateError, match=f"truncated or corrupt checkpoint: {cut}"):
            rs.load_checkpoint(cut)
    assert issubclass(CorruptStateError, ValueError)


def test_not_a_torch_file_says_what_it_found(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"a": 1}')
    with pytest.raises(ForeignStateError, match=f"not a checkpoint: {path} holds JSON"):
        rs.load_checkpoint(path)


class Thing:
    """A class no allow-list names."""


def test_objects_safe_loading_refuses_are_named_never_loaded_unsafely(tmp_path):
    """A pickled class outside the allow-list: ForeignStateError, no weights_only=False advice."""
    path = tmp_path / "obj.pt"
    torch.save({"thing": Thing()}, path)
    with pytest.raises(ForeignStateError, match=r"safe loading \(weights_only=True\) refuses") as exc:
        rs.load_checkpoint(path)
    assert "weights_only=False" not in str(exc.value)


def test_split_record_refuses_a_flipped_bit_and_reads_old_records():
    """SplitRecord.to_dict carries a checksum: a flipped bit is refused; a record without one loads."""
    split = rs.replayable_random_split(Indices(100), [0.5, 0.5], generator=torch.Generator().manual_seed(3))
    record = split.record.to_dict()
    assert rs.SplitRecord.from_dict(record) == split.record
    damaged = dict(record, generator_state=record["generator_state"].clone())
    damaged["generator_state"][200] ^= 4
    with pytest.raises(CorruptStateError, match=r"record\['checksum'\] does not match"):
        rs.SplitRecord.from_dict(damaged)
    old = {k: v for k, v in record.items() if k != "checksum"}
    assert rs.SplitRecord.from_dict(old) == split.record
