"""CUDA states on a real GPU: an uninterrupted GPU loop with dropout and a random
augmentation on the GPU, its states reconstructed byte for byte at every epoch, and a
resumed run in a fresh process equal to it bit for bit (tests/cuda_runs.py).

Always collected; skipped, saying why, where ``torch.cuda.is_available()`` is False.
Run them alone with ``python -m pytest -m cuda``.
"""

import struct

import pytest
import torch

from replay_sampler import Run, States, check, measure_cuda_offsets, reconstruct
from replay_sampler.core import TorchCUDAState
from tests.fresh import fresh_run

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not torch.cuda.is_available(),
        reason="needs a CUDA GPU: torch.cuda.is_available() is False on this machine",
    ),
]

SEED, EPOCHS, START = 29, 6, 3


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """The uninterrupted run, once per module, with its checkpoints' folder."""
    folder = tmp_path_factory.mktemp("cuda_checkpoints")
    out = fresh_run("tests.cuda_runs", {"mode": "full", "seed": SEED, "epochs": EPOCHS, "dir": str(folder)})
    return out, folder


def described(out) -> Run:
    return Run(seed=SEED, cuda_prologue_offsets=tuple(out["prologue"]),
               cuda_epoch_offsets=tuple(out["per_epoch"]))


def test_the_loop_draws_gpu_randomness_every_epoch(full_run):
    """A guard on the scenario: the prologue and every epoch advance the device's offset."""
    out, _ = full_run
    device = torch.cuda.current_device()
    assert out["prologue"][device] > 0 and out["per_epoch"][device] > 0
    offsets = [struct.unpack("<Qq", bytes.fromhex(r["cuda"][device]))[1] for r in out["records"]]
    assert offsets == sorted(set(offsets))


def test_reconstruction_equals_every_saved_cuda_state_byte_for_byte(full_run):
    """reconstruct(run, E) from the measured offsets is get_rng_state_all() at the start of every epoch E."""
    out, _ = full_run
    run = described(out)
    for record in out["records"]:
        tensors = reconstruct(run, record["epoch"]).to_dict()["cuda_rng_state_all"]
        assert [t.numpy().tobytes().hex() for t in tensors] == record["cuda"], record["epoch"]


def test_a_resumed_process_replays_dropout_masks_augmentation_and_losses_bit_for_bit(full_run):
    """A fresh process that applies the reconstruction at epoch 3 sees the uninterrupted run's masks, inputs and losses."""
    out, folder = full_run
    resumed = fresh_run("tests.cuda_runs", {
        "mode": "resume", "seed": SEED, "epochs": EPOCHS, "start": START, "dir": str(folder),
        "prologue": out["prologue"], "per_epoch": out["per_epoch"], "cpu_prologue": out["cpu_prologue"],
    })
    assert resumed["records"] == out["records"][START:]


def test_check_reports_a_missed_kernel_in_offset_units_per_epoch(full_run):
    """A description 4 units short per epoch is caught against the run's saved state, with the shortfall."""
    out, _ = full_run
    device = torch.cuda.current_device()
    short = list(out["per_epoch"])
    short[device] -= 4
    run = Run(seed=SEED, cuda_prologue_offsets=tuple(out["prologue"]), cuda_epoch_offsets=tuple(short))
    saved = {"cuda_rng_state_all": [torch.frombuffer(bytearray(bytes.fromhex(h)), dtype=torch.uint8)
                                    for h in out["records"][START]["cuda"]]}
    finding = next(f for f in check(run, START, saved) if f.generator == f"cuda:{device}")
    assert not finding.agrees and f"4 offset units per epoch over {START} epochs" in finding.message


def test_apply_before_cuda_initialisation_outlasts_the_queued_manual_seed():
    """States.apply() right after torch.manual_seed, before CUDA starts, leaves the devices in the applied states."""
    out = fresh_run("tests.cuda_runs", {"mode": "apply_first", "seed": 5})
    assert out["initialised_before"] is False
    assert out["got"] == out["wanted"]


def test_torch_set_rng_state_all_before_initialisation_is_overwritten_by_a_queued_manual_seed():
    """The torch quirk apply() works around: queued seeding runs after a queued set_rng_state_all."""
    out = fresh_run("tests.cuda_runs", {"mode": "torch_set_first", "seed": 5})
    assert out["initialised_before"] is False
    assert out["got"] == [struct.pack("<Qq", 5, 0).hex()] * torch.cuda.device_count()


def test_measure_cuda_offsets_returns_torchs_own_offset_change_and_restores():
    """The measured increment is the offset change get_rng_state shows, and every device is left as it was."""
    device = torch.cuda.current_device()
    before = torch.cuda.get_rng_state_all()
    measured = measure_cuda_offsets(lambda: torch.rand(1000, device="cuda"))
    assert [torch.equal(a, b) for a, b in zip(torch.cuda.get_rng_state_all(), before)] == [True] * len(before)
    torch.rand(1000, device="cuda")
    moved = struct.unpack("<Qq", torch.cuda.get_rng_state(device).numpy().tobytes())[1] - \
        struct.unpack("<Qq", before[device].numpy().tobytes())[1]
    assert measured[device] == moved > 0 and moved % 4 == 0
    assert all(m == 0 for i, m in enumerate(measured) if i != device)


def test_apply_refuses_another_device_count_and_sets_nothing():
    """States for one device more than this machine has are refused, every generator left as it was."""
    cuda_before, cpu_before = torch.cuda.get_rng_state_all(), torch.get_rng_state()
    states = States(0, reconstruct(Run(seed=1), 0).torch, None, None,
                    cuda=(TorchCUDAState(1, 8),) * (torch.cuda.device_count() + 1))
    with pytest.raises(RuntimeError, match=r"torch.cuda.device_count\(\) is .* nothing was set"):
        states.apply()
    assert all(torch.equal(a, b) for a, b in zip(torch.cuda.get_rng_state_all(), cuda_before))
    assert torch.equal(torch.get_rng_state(), cpu_before)
