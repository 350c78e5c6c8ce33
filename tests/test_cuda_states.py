"""CUDA states of a reconstruction without a GPU: the file's ``cuda_rng_state_all``,
``apply()`` and ``measure_cuda_offsets`` where CUDA is missing, ``check()``'s findings,
the CLI options -- and every bad input leaving the generators as they were.

Where a test needs "this machine has CUDA with N devices" on a machine without one,
``torch.cuda.is_available`` and ``torch.cuda.device_count`` are patched, and
writing the devices' states is replaced by a recorder that fails the test if called.
"""

import random
import struct

import numpy as np
import pytest
import torch

from replay_sampler import (
    CorruptStateError,
    ForeignStateError,
    Loader,
    Run,
    States,
    check,
    measure_cuda_offsets,
    reconstruct,
)
from replay_sampler import _torch as adapter
from replay_sampler.core import TorchCUDAState
from tests.sampler_runs import seed_everything
from tests.test_cli import cli

RUN = Run(seed=3, loaders=(Loader(50, shuffle=True),), cuda_prologue_offsets=(8, 0),
          cuda_epoch_offsets=(1536, 0), first_epoch=1)


def packed(seed: int, offset: int) -> bytes:
    """get_state's 16 bytes, from CUDAGeneratorImpl::get_state: uint64 seed, int64 offset."""
    return struct.pack("<Qq", seed, offset)


def as_tensor(raw: bytes) -> torch.Tensor:
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8)


def cpu_states():
    return torch.get_rng_state().clone(), np.random.get_state(), random.getstate()


def assert_cpu_states_unchanged(before):
    torch_state, np_state, py_state = cpu_states()
    assert torch.equal(torch_state, before[0])
    assert np.array_equal(np_state[1], before[1][1]) and np_state[2] == before[1][2]
    assert py_state == before[2]


@pytest.fixture
def no_cuda(monkeypatch):
    """A machine without CUDA, also when the tests run on one with a GPU."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def never_written(monkeypatch):
    """Fail if anything tries to set the CUDA devices' states."""
    def refuse(states):
        raise AssertionError(f"CUDA states were written: {states}")
    monkeypatch.setattr(adapter, "write_cuda_all", refuse)


# -- files ------------------------------------------------------------------------------
def test_file_carries_cuda_rng_state_all_as_get_rng_state_all_returns_it(tmp_path):
    """The file holds one 16-byte uint8 tensor per device under cuda_rng_state_all, readable with weights_only=True."""
    path = tmp_path / "epoch4.pt"
    reconstruct(RUN, 4).save(path)
    data = torch.load(path, weights_only=True)
    tensors = data["cuda_rng_state_all"]
    assert isinstance(tensors, list) and all(t.dtype == torch.uint8 for t in tensors)
    assert [t.numpy().tobytes() for t in tensors] == [packed(3, 8 + 3 * 1536), packed(3, 0)]
    assert data["replay_sampler"]["version"] == 2  # an older reader refuses, never drops them
    assert States.load(path).cuda == (TorchCUDAState(3, 4616), TorchCUDAState(3, 0))


def test_a_run_made_by_torch_2_0_gets_that_releases_816_byte_layout(tmp_path):
    """Files for a torch 1.8-2.0 run hold the 816-byte CUDA states that release wrote, and load back."""
    run = Run(seed=3, cuda_epoch_offsets=(64,), torch_version="2.0")
    path = tmp_path / "old.pt"
    reconstruct(run, 2).save(path)
    (tensor,) = torch.load(path, weights_only=True)["cuda_rng_state_all"]
    assert tensor.numpy().tobytes() == b"\xff" * 800 + packed(3, 128)
    assert States.load(path).cuda == (TorchCUDAState(3, 128),)


def test_a_run_without_cuda_writes_a_version_1_file_without_cuda_states(tmp_path):
    """No CUDA described: cuda_rng_state_all is None and the file stays version 1."""
    path = tmp_path / "cpu.pt"
    reconstruct(Run(seed=3), 0).save(path)
    data = torch.load(path, weights_only=True)
    assert data["cuda_rng_state_all"] is None and data["replay_sampler"]["version"] == 1
    assert States.load(path).cuda is None


@pytest.mark.parametrize(
    "value, exc, match",
    [
        (as_tensor(packed(3, 0)), CorruptStateError, r"\['cuda_rng_state_all'\] must be a list of uint8 tensors"),
        ([as_tensor(bytes(15))], ForeignStateError, r"\['cuda_rng_state_all'\]\[0\] must be a 16-byte CUDA"),
        ([as_tensor(packed(3, 6))], CorruptStateError, r"\['cuda_rng_state_all'\]\[0\]: field 'offset' must be"),
        ([torch.zeros(4, dtype=torch.int32)], TypeError, "got dtype int32"),
    ],
)
def test_bad_cuda_states_in_a_file_are_refused(tmp_path, value, exc, match):
    """A file whose cuda_rng_state_all is not a list of valid states is refused, naming the entry."""
    data = reconstruct(RUN, 2).to_dict()
    data["cuda_rng_state_all"] = value
    path = tmp_path / "bad.pt"
    torch.save(data, path)
    with pytest.raises(exc, match=match):
        States.load(path)


def test_a_file_of_an_unknown_version_is_refused(tmp_path):
    """Format versions other than 1 and 2 are refused."""
    data = reconstruct(RUN, 2).to_dict()
    data["replay_sampler"]["version"] = 3
    path = tmp_path / "future.pt"
    torch.save(data, path)
    with pytest.raises(ValueError, match="format version 3; this replay_sampler reads versions 1 and 2"):
        States.load(path)


def test_states_take_only_cuda_state_values():
    """States(cuda=...) takes TorchCUDAState values; raw bytes are refused by index."""
    with pytest.raises(TypeError, match=r"cuda\[0\] must be a TorchCUDAState, got bytes"):
        States(0, None, None, None, cuda=(packed(3, 0),))
    with pytest.raises(TypeError, match="cuda must be a tuple of TorchCUDAState"):
        States(0, None, None, None, cuda=TorchCUDAState(3))


# -- apply() and measuring where CUDA is missing ---------------------------------------------
def test_apply_without_cuda_says_so_and_sets_nothing(no_cuda, never_written):
    """apply() of states with CUDA states on a machine without CUDA raises and leaves every generator as it was."""
    seed_everything(11)
    torch.rand(3)
    before = cpu_states()
    with pytest.raises(RuntimeError, match=r"for 2 devices, but CUDA is not available here .* nothing was set"):
        reconstruct(RUN, 4).apply()
    assert_cpu_states_unchanged(before)


def test_apply_on_another_device_count_says_so_and_sets_nothing(monkeypatch, never_written):
    """apply() of states for 2 devices where torch.cuda.device_count() is 1 raises and sets nothing."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    seed_everything(12)
    before = cpu_states()
    with pytest.raises(RuntimeError, match=r"for 2 devices, but torch.cuda.device_count\(\) is 1 here; nothing was set"):
        reconstruct(RUN, 4).apply()
    assert_cpu_states_unchanged(before)


def test_the_cpu_states_alone_still_apply_without_cuda(no_cuda, never_written):
    """Dropping the CUDA states (dataclasses.replace, as the error says) applies the CPU ones."""
    import dataclasses

    states = reconstruct(RUN, 4)
    seed_everything(0)
    dataclasses.replace(states, cuda=None).apply()
    assert torch.get_rng_state().numpy().tobytes() == states.torch


def test_measure_cuda_offsets_without_cuda_runs_nothing(no_cuda):
    """measure_cuda_offsets refuses without CUDA before calling the function."""
    called = []
    with pytest.raises(RuntimeError, match="measure_cuda_offsets needs CUDA"):
        measure_cuda_offsets(lambda: called.append(1))
    assert not called


def test_measure_cuda_offsets_refuses_a_non_callable():
    """fn must be callable."""
    with pytest.raises(TypeError, match="fn must be a callable, got int"):
        measure_cuda_offsets(3)


# -- check() --------------------------------------------------------------------------------
def saved_at(*states):
    return {"cuda_rng_state_all": [as_tensor(packed(seed, offset)) for seed, offset in states]}


def test_check_agrees_with_the_saved_cuda_states():
    """States a run saved at epoch 4 that match the description agree, device by device."""
    findings = check(RUN, 4, saved_at((3, 8 + 3 * 1536), (3, 0)))
    assert [(f.generator, f.agrees) for f in findings if f.generator.startswith("cuda")] == [
        ("cuda:0", True), ("cuda:1", True)]


def test_check_reports_missing_offset_units_per_epoch():
    """A description that misses GPU random work is caught with the shortfall per epoch."""
    run = Run(seed=3, cuda_prologue_offsets=(8,), cuda_epoch_offsets=(1024,), first_epoch=1)
    (finding,) = check(run, 4, saved_at((3, 8 + 3 * 1536)))
    assert not finding.agrees
    assert "1,536 offset units after it -- 512 offset units per epoch over 3 epochs" in finding.message
    assert "misses GPU random work" in finding.message


def test_check_reports_too_many_offset_units_per_epoch():
    """A description that counts too much GPU random work is caught too."""
    run = Run(seed=3, cuda_epoch_offsets=(2048,))
    (finding,) = check(run, 2, saved_at((3, 2 * 1536)))
    assert "1,024 offset units before it -- 512 offset units per epoch over 2 epochs" in finding.message
    assert "counts too much" in finding.message


def test_check_blames_the_prologue_at_the_first_epoch():
    """At first_epoch an offset difference is the prologue's."""
    (finding,) = check(Run(seed=3, cuda_epoch_offsets=(16,)), 0, saved_at((3, 32)))
    assert "32 offset units after it, so the prologue's offset is off by that much" in finding.message


def test_check_reports_another_seed_and_another_device_count():
    """A saved state with another seed, or another number of devices, disagrees and says why."""
    (finding,) = check(Run(seed=3, cuda_epoch_offsets=(16,)), 1, saved_at((4, 16)))
    assert "seed 4, the reconstruction 3" in finding.message
    (finding,) = check(Run(seed=3, cuda_epoch_offsets=(16,)), 1, saved_at((3, 16), (3, 0)))
    assert not finding.agrees and "holds 2 CUDA device states, the description 1" in finding.message


def test_check_reads_cuda_states_a_torch_2_0_checkpoint_saved():
    """An old checkpoint's 816-byte CUDA states are compared as well."""
    old = {"cuda_rng_state_all": [as_tensor(b"\xff" * 800 + packed(3, 16))]}
    (finding,) = check(Run(seed=3, cuda_epoch_offsets=(16,)), 1, old)
    assert finding.agrees


def test_check_refuses_cuda_states_that_are_not_a_list():
    """cuda_rng_state_all must be a list of state tensors."""
    with pytest.raises(TypeError, match="cuda_rng_state_all must be a list of uint8 tensors"):
        check(Run(seed=3, cuda_epoch_offsets=(16,)), 1, {"cuda_rng_state_all": b"x"})


# -- the command line -------------------------------------------------------------------------
def test_cli_writes_and_explains_cuda_states(tmp_path):
    """--cuda-prologue-offsets/--cuda-epoch-offsets reach the file and the explained plan."""
    path = tmp_path / "e5.pt"
    out = cli("reconstruct", "--seed", "2", "--epoch", "5", "--cuda-prologue-offsets", "12,0",
              "--cuda-epoch-offsets", "1536,4", "--output", str(path))
    assert "cuda:0" in out.stdout and "7,692" in out.stdout and "cuda_rng_state_all: 2 CUDA" in out.stdout
    tensors = torch.load(path, weights_only=True)["cuda_rng_state_all"]
    assert [t.numpy().tobytes() for t in tensors] == [packed(2, 12 + 5 * 1536), packed(2, 20)]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--cuda-epoch-offsets", "1536,x"], "--cuda-epoch-offsets value must be an integer, got 'x'"),
        (["--cuda-epoch-offsets", "6"], "--cuda-epoch-offsets value 0 must be a non-negative multiple of 4, got 6"),
        (["--cuda-prologue-offsets", "-4"], "--cuda-prologue-offsets value must be >= 0, got -4"),
        (["--cuda-prologue-offsets", "0,0", "--cuda-epoch-offsets", "4"], "got 2 and 1 values"),
        (["--cuda-epoch-offsets", "4", "--seeded", "numpy"], "whose CUDA generators were not seeded"),
    ],
)
def test_cli_refuses_bad_cuda_offsets(args, message):
    """Bad CUDA offsets exit with status 2 and one line naming the problem."""
    out = cli("explain", "--seed", "1", "--epoch", "2", *args, check=False)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr
