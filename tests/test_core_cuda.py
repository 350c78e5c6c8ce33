"""CUDA generator states in the core: the 16-byte layout, the old 816-byte one, the
offset arithmetic of a described run, and every refusal (no GPU needed).

The layout's oracle is torch's C++ source, written out with ``struct``:
``CUDAGeneratorImpl::get_state`` memcpys a ``uint64`` seed and then an
``int64`` Philox offset (little-endian on every host CUDA runs on); torch
1.2-2.0 wrote 800 bytes of ``0xFF`` first.
"""

import struct

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from replay_sampler.core import (
    CorruptStateError,
    ForeignStateError,
    Run,
    TorchCPUState,
    TorchCUDAState,
    cuda_states_at,
)
from tests.strategies import seeds

offsets = st.integers(0, 2**61 - 1).map(lambda n: 4 * n)


def packed(seed: int, offset: int) -> bytes:
    return struct.pack("<Qq", seed, offset)


@given(seeds, offsets)
def test_layout_is_the_seed_then_the_offset_little_endian(seed, offset):
    """raw is get_state's memcpy of (uint64 seed, int64 offset), and parse reads it back."""
    state = TorchCUDAState(seed, offset)
    assert state.raw == packed(seed, offset)
    assert TorchCUDAState.parse(packed(seed, offset)) == state


@given(seeds, offsets)
def test_torch_2_0_layout_has_800_bytes_of_0xff_first(seed, offset):
    """legacy_raw is torch 1.2-2.0's 816 bytes; parse_legacy and parse_saved read them."""
    old = b"\xff" * 800 + packed(seed, offset)
    state = TorchCUDAState(seed, offset)
    assert state.legacy_raw == old
    assert TorchCUDAState.parse_legacy(old) == state == TorchCUDAState.parse_saved(old)
    assert TorchCUDAState.parse_saved(packed(seed, offset)) == state


def test_parse_takes_a_uint8_tensors_numpy():
    """A state tensor as torch.cuda.get_rng_state() returns it (uint8, 16 elements) parses."""
    tensor = torch.frombuffer(bytearray(packed(7, 40)), dtype=torch.uint8)
    assert TorchCUDAState.parse(tensor.numpy()) == TorchCUDAState(7, 40)


@pytest.mark.parametrize("seed", [0, 1, 2**32, 2**63, 2**64 - 1, -1, -(2**63)])
def test_fresh_records_the_seed_as_manual_seed_does(seed):
    """fresh(s).seed is the uint64 Generator.manual_seed(s) records -- the same binding
    seeds CUDA generators (torch.cuda.manual_seed_all calls it per device)."""
    assert TorchCUDAState.fresh(seed) == TorchCUDAState(
        torch.Generator().manual_seed(seed).initial_seed(), 0
    )


def test_cpu_states_refuse_both_cuda_layouts():
    """The CPU parser names a 16-byte and an 816-byte CUDA state for what they are."""
    with pytest.raises(ForeignStateError, match="16 bytes, the size of a CUDA"):
        TorchCPUState.parse(packed(1, 0))
    with pytest.raises(ForeignStateError, match=r"816 bytes, the size of a torch 1\.2-2\.0 CUDA"):
        TorchCPUState.parse(TorchCUDAState(1).legacy_raw)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"seed": -1}, ValueError, r"seed must be a non-negative integer, got -1"),
        ({"seed": 2**64}, ValueError, r"seed must be in \[0, 2\*\*64\), got 18446744073709551616"),
        ({"seed": 1.5}, TypeError, r"seed must be a non-negative integer, got 1.5 \(type float\)"),
        ({"seed": True}, TypeError, r"seed must be a non-negative integer, got True \(type bool\)"),
        ({"seed": 1, "offset": -4}, ValueError, "offset must be a non-negative integer, got -4"),
        ({"seed": 1, "offset": 6}, ValueError, "offset must be a non-negative multiple of 4, got 6"),
        ({"seed": 1, "offset": 2**63}, ValueError, r"offset must be below 2\*\*63"),
        ({"seed": 1, "offset": "4"}, TypeError, r"offset must be a non-negative integer, got '4'"),
    ],
)
def test_bad_fields_are_refused_by_name(kwargs, exc, match):
    """A seed outside uint64 or an offset torch could not hold or set is refused, naming the field."""
    with pytest.raises(exc, match=match):
        TorchCUDAState(**kwargs)


@pytest.mark.parametrize(
    "value, exc, match",
    [
        (bytes(15), ForeignStateError, "saved must be a 16-byte CUDA generator state .* got 15 bytes"),
        (bytes(5056), ForeignStateError, "5056 bytes, the size of a torch CPU"),
        (bytes(8), ForeignStateError, "8 bytes, a CUDA seed without its offset"),
        (b"\xff" * 800 + packed(1, 0), ForeignStateError, "816-byte CUDA state, the layout of torch 1.2-2.0"),
        (packed(1, -4), CorruptStateError, "saved: field 'offset' must be a non-negative multiple of 4, got -4"),
        (packed(1, 6), CorruptStateError, "saved: field 'offset' must be a non-negative multiple of 4, got 6"),
        (torch.zeros(4, dtype=torch.int32).numpy(), TypeError, "got dtype int32"),
    ],
)
def test_foreign_and_corrupt_states_are_refused(value, exc, match):
    """Wrong sizes, the old layout, impossible offsets and other dtypes are refused, naming the argument."""
    with pytest.raises(exc, match=match):
        TorchCUDAState.parse(value, "saved")


@pytest.mark.parametrize(
    "value, exc, match",
    [
        (packed(1, 0), ForeignStateError, "must be an 816-byte torch 1.2-2.0 CUDA state, got 16 bytes"),
        (b"\xff" * 799 + b"\x00" + packed(1, 0), CorruptStateError, "byte 799 is 0; the first 800 bytes"),
        (b"\xff" * 800 + packed(1, 2), CorruptStateError, "multiple of 4, got 2"),
    ],
)
def test_bad_legacy_states_are_refused(value, exc, match):
    """An 816-byte state needs its 0xFF padding and a valid offset."""
    with pytest.raises(exc, match=match):
        TorchCUDAState.parse_legacy(value)


def test_advance_adds_units_and_keeps_the_seed():
    """advance(n) moves the offset by n; non-multiples of 4 and the int64 end are refused."""
    assert TorchCUDAState(9, 8).advance(1536) == TorchCUDAState(9, 1544)
    with pytest.raises(ValueError, match="units must be a non-negative multiple of 4, got 6"):
        TorchCUDAState(9).advance(6)
    with pytest.raises(ValueError, match=r"passes 2\*\*63"):
        TorchCUDAState(9, 2**63 - 4).advance(4)


# -- a described run's CUDA states -------------------------------------------------------
@given(
    seed=seeds,
    devices=st.lists(st.tuples(st.integers(0, 2**40).map(lambda n: 4 * n),
                               st.integers(0, 10**6).map(lambda n: 4 * n)), min_size=1, max_size=4),
    first=st.integers(0, 3),
    epochs=st.integers(0, 10**6),
)
def test_each_device_is_at_prologue_plus_epochs_times_per_epoch(seed, devices, first, epochs):
    """At epoch E every device is (manual_seed's seed, prologue + (E - first_epoch) * per_epoch)."""
    prologue, per_epoch = zip(*devices)
    run = Run(seed=seed, seeded=("torch",), first_epoch=first,
              cuda_prologue_offsets=prologue, cuda_epoch_offsets=per_epoch)
    got = [state.raw for state in cuda_states_at(run, first + epochs)]
    assert got == [packed(seed, p + epochs * q) for p, q in devices]


def test_an_epoch_past_the_int64_offset_is_refused():
    """An epoch whose offset would pass torch's int64 is refused, not wrapped."""
    run = Run(seed=1, cuda_epoch_offsets=(2**40,))
    with pytest.raises(ValueError, match=r"passes 2\*\*63"):
        cuda_states_at(run, 2**23)


def test_one_kind_of_offset_alone_means_zero_for_the_other():
    """Epoch offsets alone give prologue 0 per device, and prologue offsets alone epoch 0."""
    run = Run(seed=5, cuda_epoch_offsets=[16, 0])
    assert run.cuda_prologue_offsets == (0, 0) and run.cuda_devices == 2
    assert [s.offset for s in cuda_states_at(run, 3)] == [48, 0]
    assert Run(seed=5, cuda_prologue_offsets=(8,)).cuda_epoch_offsets == (0,)


def test_a_run_without_cuda_has_no_cuda_states():
    """No offsets given: the run has no CUDA devices and no CUDA states."""
    run = Run(seed=5)
    assert run.cuda_devices == 0 and cuda_states_at(run, 4) == ()
    assert "CUDA" not in run.explain(4)


def test_explain_shows_each_devices_offsets():
    """explain lists prologue, per-epoch and reached offset per device."""
    text = Run(seed=5, cuda_prologue_offsets=(12, 0), cuda_epoch_offsets=(1536, 0), first_epoch=1).explain(4)
    assert "cuda:0" in text and "1,536" in text and "4,620" in text and "cuda:1" in text


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"cuda_epoch_offsets": 1536}, TypeError,
         r"cuda_epoch_offsets must be a list or tuple of non-negative multiples of 4, got 1536 \(type int\)"),
        ({"cuda_epoch_offsets": (6,)}, ValueError, r"cuda_epoch_offsets\[0\] must be a non-negative multiple of 4, got 6"),
        ({"cuda_prologue_offsets": (4, -4)}, ValueError, r"cuda_prologue_offsets\[1\] must be a non-negative integer, got -4"),
        ({"cuda_epoch_offsets": (True,)}, TypeError, r"cuda_epoch_offsets\[0\] must be a non-negative integer, got True"),
        ({"cuda_epoch_offsets": (4.0,)}, TypeError, r"cuda_epoch_offsets\[0\] must be a non-negative integer, got 4.0"),
        ({"cuda_prologue_offsets": (0, 0), "cuda_epoch_offsets": (4,)}, ValueError,
         "one value per CUDA device; got 2 and 1 values"),
        ({"seeded": ("numpy", "random"), "cuda_epoch_offsets": (4,)}, ValueError,
         "cuda_epoch_offsets given for a run whose CUDA generators were not seeded"),
        ({"seeded": (), "cuda_prologue_offsets": (4,)}, ValueError,
         "cuda_prologue_offsets given for a run whose CUDA generators were not seeded"),
        ({"torch_version": "1.7", "cuda_epoch_offsets": (4,)}, ValueError,
         "CUDA states are reconstructed for runs of torch 1.8 and later .* not torch 1.7"),
    ],
)
def test_bad_cuda_descriptions_are_refused(kwargs, exc, match):
    """Malformed offsets, offsets for a run whose GPUs were not seeded, or a release not modelled are refused by name."""
    with pytest.raises(exc, match=match):
        Run(seed=1, **kwargs)
