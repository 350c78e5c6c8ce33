"""Record what a real torch release draws from its CPU generator.

Usage::

    python tests/reference/record_release.py OUT.json [--skip-large] [--only NAME ...]

Runs under any torch from 1.13 on (Python 3.11).  It imports only torch,
numpy and the standard library -- never ``replay_sampler`` -- so the file it
writes records what torch itself does, and the library's tests can compare
their model against it.

Output (compact, sorted keys, byte-identical between two runs under one
release on one machine)::

    {"format": "replay_sampler.reference", "version": 1,
     "torch": "<torch.__version__>", "env": {...}, "skipped": [...],
     "scenarios": {name: {...}}}

Conventions inside a scenario:

* ``*_sha`` of a *state* is sha256 hex of the full 5056-byte generator state
  (``bytes(torch.get_rng_state().numpy())`` or ``g.get_state()``).
* ``*_sha`` of an index/value list is sha256 hex of its compact JSON
  serialisation (``json.dumps(list, separators=(",", ":"))``).
* ``draws`` is the number of 32-bit MT19937 outputs between two states,
  measured by stepping numpy's ``MT19937`` (fed torch's key) from the before
  state until it reaches the after state's key/pos (see ``count_draws``).
  It ignores the normal-sample caches, which the state sha covers.
* ``error`` replaces a result where the release refused the call:
  ``"<ExceptionType>: <first line of message>"``.

The scenario names live in one place: ``SCENARIOS`` (name -> function).
Names starting with ``large_`` form the large group that ``--skip-large``
leaves out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import struct
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, RandomSampler, TensorDataset, random_split

FORMAT = "replay_sampler.reference"
FORMAT_VERSION = 1
STATE_BYTES = 5056
N_FIRST = 8  # how many leading values a scenario keeps for diagnosis


# --------------------------------------------------------------------------
# state helpers
# --------------------------------------------------------------------------

def state_of(gen=None) -> bytes:
    """Full torch CPU generator state as bytes (global generator by default)."""
    t = torch.get_rng_state() if gen is None else gen.get_state()
    b = bytes(t.numpy().tobytes())
    return b


def sha_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def sha_json(obj) -> str:
    return hashlib.sha256(json.dumps(obj, separators=(",", ":")).encode()).hexdigest()


def key_pos(state: bytes):
    """(key as uint32[624], numpy pos) of a torch state."""
    left = struct.unpack_from("<i", state, 8)[0]
    key = np.frombuffer(state, dtype="<u8", count=624, offset=24).astype(np.uint32)
    return key, 625 - left


def _temper(y: np.ndarray) -> np.ndarray:
    y = y.astype(np.uint32)
    y = y ^ (y >> np.uint32(11))
    y = y ^ ((y << np.uint32(7)) & np.uint32(0x9D2C5680))
    y = y ^ ((y << np.uint32(15)) & np.uint32(0xEFC60000))
    y = y ^ (y >> np.uint32(18))
    return y


def count_draws(before: bytes, after: bytes, limit: int = 1 << 33):
    """How many 32-bit draws take MT19937 from ``before`` to ``after``.

    Uses numpy's MT19937 fed torch's key (pos = 625 - left).  After the first
    twist, the outputs of twist t are temper(key_t), so the block whose
    outputs equal temper(after key) identifies the twist the after state is
    in.  Returns None if not reached within ``limit`` draws.
    """
    k0, p0 = key_pos(before)
    k1, p1 = key_pos(after)
    if np.array_equal(k0, k1):
        return p1 - p0 if p1 >= p0 else None
    bg = np.random.MT19937(0)
    bg.state = {"bit_generator": "MT19937", "state": {"key": k0.copy(), "pos": int(p0)}}
    count = 624 - p0
    if count:
        bg.random_raw(count)
    target = _temper(k1)
    block = 4096  # twists per numpy call
    twists_done = 0
    while count < limit:
        out = bg.random_raw(624 * block).astype(np.uint32).reshape(block, 624)
        hits = np.nonzero(out[:, 0] == target[0])[0]
        for h in hits:
            if np.array_equal(out[h], target):
                return count + int(h) * 624 + p1
        count += 624 * block
        twists_done += block
    return None


def draws_of(fn, gen=None):
    """Run fn(); return (result, draws, after-state sha) for ``gen``."""
    b = state_of(gen)
    res = fn()
    a = state_of(gen)
    return res, count_draws(b, a), sha_bytes(a)


def err(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {msg[:200]}"


def first_values(t, n=N_FIRST):
    if isinstance(t, torch.Tensor):
        flat = t.detach().reshape(-1)[:n]
        if flat.dtype in (torch.bfloat16, torch.float16):
            flat = flat.float()
        if flat.dtype == torch.bool:
            flat = flat.to(torch.int64)
        return flat.tolist()
    return list(t)[:n]


def seed_all(s=0):
    torch.manual_seed(s)
    np.random.seed(s)
    random.seed(s)


def op_record(fn, gen=None, seed=0):
    """Seed, run a single op, record draws / state / leading values."""
    seed_all(seed)
    if gen is not None:
        gen.manual_seed(seed)
    b = state_of(gen)
    try:
        out = fn()
    except Exception as e:  # the release refused this call
        return {"error": err(e), "draws": count_draws(b, state_of(gen))}
    a = state_of(gen)
    rec = {"draws": count_draws(b, a), "state_sha": sha_bytes(a)}
    if isinstance(out, torch.Tensor):
        rec["first"] = first_values(out)
        rec["values_sha"] = sha_json(_as_list(out))
    return rec


def _as_list(t):
    t = t.detach().reshape(-1)
    if t.dtype in (torch.bfloat16, torch.float16):
        t = t.float()
    if t.dtype == torch.bool:
        t = t.to(torch.int64)
    return t.tolist()


# --------------------------------------------------------------------------
# datasets
# --------------------------------------------------------------------------

class IndexDataset(Dataset):
    """Returns its own index; draws nothing."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i


class AugmentDataset(Dataset):
    """__getitem__ draws from torch, numpy and random (like augmentation)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return (
            i,
            torch.randint(0, 2**30, (1,)).item(),
            int(np.random.randint(0, 2**30)),
            random.getrandbits(30),
        )


def loader_indices(batches):
    out = []
    for b in batches:
        out.extend(b.tolist() if isinstance(b, torch.Tensor) else list(b))
    return out


# --------------------------------------------------------------------------
# scenarios
# --------------------------------------------------------------------------

WRITEUP_EPOCHS = 13
WRITEUP_STATE_EPOCHS = (0, 1, 5, 9, 12)


def sc_writeup_loop():
    """The write-up's run: split, model, 13 epochs of train (dropout) + eval."""
    seed_all(1)
    dgen = torch.Generator().manual_seed(1234)
    n = 1806
    X = torch.randn(n, 8, generator=dgen)
    y = torch.randn(n, 1, generator=dgen)
    ds = TensorDataset(X, y, torch.arange(n))
    rec = {"n": n}
    s0 = state_of()
    rec["seeded_state_sha"] = sha_bytes(s0)
    train, test = random_split(ds, [0.8, 0.2])
    s1 = state_of()
    rec["split_draws"] = count_draws(s0, s1)
    rec["split_sizes"] = [len(train), len(test)]
    rec["train_indices_sha"] = sha_json(list(train.indices))
    rec["test_indices_sha"] = sha_json(list(test.indices))
    rec["train_indices_first"] = list(train.indices)[:N_FIRST]
    model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Dropout(0.3), nn.Linear(64, 1))
    s2 = state_of()
    rec["model_init_draws"] = count_draws(s1, s2)
    rec["after_prologue_state_sha"] = sha_bytes(s2)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.MSELoss()
    train_loader = DataLoader(train, batch_size=64, shuffle=True)
    test_loader = DataLoader(test, batch_size=64)
    epoch_draws, epoch_idx_sha, start_sha, first_batch_draws = [], [], {}, []
    train_draws, eval_draws = [], []
    for epoch in range(WRITEUP_EPOCHS):
        sb = state_of()
        if epoch in WRITEUP_STATE_EPOCHS:
            start_sha[str(epoch)] = sha_bytes(sb)
        model.train()
        idx = []
        for xb, yb, ib in train_loader:
            idx.extend(ib.tolist())
            fb = state_of()
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            if epoch == 0:
                first_batch_draws.append(count_draws(fb, state_of()))
        sm = state_of()
        model.eval()
        with torch.no_grad():
            for xb, yb, _ib in test_loader:
                loss_fn(model(xb), yb)
        se = state_of()
        train_draws.append(count_draws(sb, sm))
        eval_draws.append(count_draws(sm, se))
        epoch_draws.append(count_draws(sb, se))
        epoch_idx_sha.append(sha_json(idx))
        if epoch == 0:
            rec["epoch0_indices_first"] = idx[:N_FIRST]
    rec["epoch_start_state_sha"] = start_sha
    rec["epoch_draws"] = epoch_draws
    rec["epoch_train_draws"] = train_draws
    rec["epoch_eval_draws"] = eval_draws
    rec["epoch0_forward_backward_draws_per_batch"] = first_batch_draws
    rec["epoch_indices_sha"] = epoch_idx_sha
    rec["final_state_sha"] = sha_bytes(state_of())
    return rec


def _epochs(make_iter, g, epochs=3):
    out = {"g_state_sha": [], "global_state_sha": [], "g_draws": [], "global_draws": [],
           "indices_sha": [], "indices_first": []}
    for _ in range(epochs):
        gb, sb = state_of(g) if g is not None else None, state_of()
        idx = make_iter()
        ga, sa = state_of(g) if g is not None else None, state_of()
        if g is not None:
            out["g_state_sha"].append(sha_bytes(ga))
            out["g_draws"].append(count_draws(gb, ga))
        out["global_state_sha"].append(sha_bytes(sa))
        out["global_draws"].append(count_draws(sb, sa))
        out["indices_sha"].append(sha_json(idx))
        out["indices_first"].append(idx[:N_FIRST])
    if g is None:
        del out["g_state_sha"], out["g_draws"]
    return out


def sc_generator_dataloader():
    """DataLoader(shuffle=True, generator=g), 3 epochs."""
    seed_all(0)
    g = torch.Generator().manual_seed(7)
    dl = DataLoader(IndexDataset(100), batch_size=10, shuffle=True, generator=g)
    return _epochs(lambda: loader_indices(dl), g)


def sc_generator_sampler_bare():
    """RandomSampler(generator=g) iterated without a DataLoader, 3 epochs."""
    seed_all(0)
    g = torch.Generator().manual_seed(7)
    s = RandomSampler(IndexDataset(100), generator=g)
    return _epochs(lambda: list(s), g)


def sc_global_sampler_bare():
    """RandomSampler() (no generator) iterated bare, 3 epochs."""
    seed_all(0)
    s = RandomSampler(IndexDataset(100))
    return _epochs(lambda: list(s), None)


def sc_global_dataloader():
    """DataLoader(shuffle=True), no generator, 3 epochs."""
    seed_all(0)
    dl = DataLoader(IndexDataset(100), batch_size=10, shuffle=True)
    return _epochs(lambda: loader_indices(dl), None)


def sc_sequential_dataloader():
    """DataLoader(shuffle=False): only the base seed per iterator."""
    seed_all(0)
    dl = DataLoader(IndexDataset(100), batch_size=10)
    return _epochs(lambda: loader_indices(dl), None)


def sc_replacement():
    """RandomSampler(replacement=True) with and without num_samples."""
    rec = {}
    for label, kw in (("default", {}), ("num_samples_70", {"num_samples": 70}),
                      ("num_samples_32", {"num_samples": 32}), ("num_samples_5", {"num_samples": 5})):
        seed_all(0)
        g = torch.Generator().manual_seed(7)
        s = RandomSampler(IndexDataset(50), replacement=True, generator=g, **kw)
        rec["g_" + label] = _epochs(lambda s=s: list(s), g, epochs=2)
        seed_all(0)
        s = RandomSampler(IndexDataset(50), replacement=True, **kw)
        rec["global_" + label] = _epochs(lambda s=s: list(s), None, epochs=2)
    return rec


def sc_num_samples_above_n():
    """RandomSampler(num_samples > n) without replacement (n=20)."""
    rec = {}
    for ns in (20, 40, 45, 7):
        seed_all(0)
        g = torch.Generator().manual_seed(7)
        s = RandomSampler(IndexDataset(20), num_samples=ns, generator=g)
        rec[f"g_num_samples_{ns}"] = _epochs(lambda s=s: list(s), g, epochs=2)
    return rec


def sc_break_epoch():
    """An epoch cut short by ``break`` (sampler bare and in a DataLoader)."""
    rec = {}

    def take(it, k):
        out = []
        for x in it:
            out.append(x)
            if len(out) == k:
                break
        return out

    for k in (1, 3, 20):
        seed_all(0)
        g = torch.Generator().manual_seed(7)
        s = RandomSampler(IndexDataset(20), generator=g)
        rec[f"sampler_take_{k}"] = _epochs(lambda k=k, s=s: take(s, k), g, epochs=2)
    for k in (1, 5):
        seed_all(0)
        g = torch.Generator().manual_seed(7)
        dl = DataLoader(IndexDataset(20), batch_size=4, shuffle=True, generator=g)
        rec[f"loader_batches_{k}"] = _epochs(lambda dl=dl, k=k: loader_indices(take(dl, k)), g, epochs=2)
        seed_all(0)
        dl = DataLoader(IndexDataset(20), batch_size=4, shuffle=True)
        rec[f"global_loader_batches_{k}"] = _epochs(lambda dl=dl, k=k: loader_indices(take(dl, k)), None, epochs=2)
    return rec


def _workers(persistent):
    seed_all(0)
    dl = DataLoader(AugmentDataset(16), batch_size=2, shuffle=True, num_workers=2,
                    persistent_workers=persistent)
    rec = {"global_draws": [], "global_state_sha": [], "indices_sha": [], "augment_sha": [],
           "augment_first": []}
    for _ in range(3):
        sb = state_of()
        rows = []
        for batch in dl:
            cols = [c.tolist() for c in batch]
            rows.extend(zip(*cols))
        sa = state_of()
        rec["global_draws"].append(count_draws(sb, sa))
        rec["global_state_sha"].append(sha_bytes(sa))
        rec["indices_sha"].append(sha_json([r[0] for r in rows]))
        rec["augment_sha"].append(sha_json([list(r) for r in rows]))
        rec["augment_first"].append([list(r) for r in rows[:2]])
    del dl
    return rec


def sc_workers():
    """num_workers=2, dataset drawing from torch/numpy/random, persistent or not."""
    return {"persistent_false": _workers(False), "persistent_true": _workers(True)}


def sc_randperm():
    rec = {}
    for n in (0, 1, 2, 3, 10, 100, 1000, 1806, 2**16):
        rec[str(n)] = op_record(lambda n=n: torch.randperm(n))
    g = torch.Generator()
    rec["1806_generator"] = op_record(lambda: torch.randperm(1806, generator=g), gen=g)
    rec["100_int32"] = op_record(lambda: torch.randperm(100, dtype=torch.int32))
    return rec


RANDINT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "float32", "float64", "bfloat16",
                  "float16")
RANDINT_HIGHS = (10, 2**8, 2**16, 2**24, 2**24 + 1, 2**28 - 1, 2**28, 2**28 + 1, 2**31,
                 2**32 - 1, 2**32, 2**32 + 1)


def sc_randint():
    """randint(0, high, (5,)) for each dtype and high; size 0; low != 0."""
    rec = {}
    for dt in RANDINT_DTYPES:
        d = getattr(torch, dt)
        for high in RANDINT_HIGHS:
            rec[f"{dt}_{high}"] = op_record(lambda d=d, high=high: torch.randint(0, high, (5,), dtype=d))
    rec["int64_2**28_size0"] = op_record(lambda: torch.randint(0, 2**28, (0,)))
    rec["int64_10_size0"] = op_record(lambda: torch.randint(0, 10, (0,)))
    for lo, hi in ((-2**27, 2**27), (-2**27, 2**27 - 1), (2**31, 2**31 + 10), (-2**31, 2**31),
                   (5, 2**28 + 5), (5, 2**28 + 4)):
        rec[f"int64_{lo}_{hi}"] = op_record(lambda hi=hi, lo=lo: torch.randint(lo, hi, (5,)))
    # a range of exactly 2**32 in a 32-bit dtype: int32 is not in the pre-2.7 random64 list
    rec["int32_-2**31_2**31"] = op_record(
        lambda: torch.randint(-2**31, 2**31, (5,), dtype=torch.int32))
    rec["bool_0_2"] = op_record(lambda: torch.randint(0, 2, (5,), dtype=torch.bool))
    g = torch.Generator()
    rec["int64_2**28_generator"] = op_record(lambda: torch.randint(0, 2**28, (5,), generator=g),
                                             gen=g)
    rec["int64_100_size64"] = op_record(lambda: torch.randint(0, 100, (64,)))
    return rec


def sc_rand_randn():
    rec = {}
    for dt in ("float32", "float64", "bfloat16", "float16"):
        d = getattr(torch, dt)
        for n in (1, 7, 16, 100):
            rec[f"rand_{dt}_{n}"] = op_record(lambda d=d, n=n: torch.rand(n, dtype=d))
    for dt in ("float32", "float64", "bfloat16", "float16"):
        d = getattr(torch, dt)
        for n in (1, 2, 3, 7, 15, 16, 17, 32, 33, 100):
            rec[f"randn_{dt}_{n}"] = op_record(lambda d=d, n=n: torch.randn(n, dtype=d))
    # normal caching: a second size-1 randn uses the cached Box-Muller value
    def twice(d):
        def f():
            a = torch.randn(1, dtype=d)
            b = torch.randn(1, dtype=d)
            return torch.cat([a, b])
        return f
    rec["randn_float32_1_twice"] = op_record(twice(torch.float32))
    rec["randn_float64_1_twice"] = op_record(twice(torch.float64))
    rec["randn_float64_1_then_float32_1"] = op_record(
        lambda: torch.cat([torch.randn(1, dtype=torch.float64), torch.randn(1).double()]))
    # the state sha must cover the cache: record both states
    seed_all(0)
    b = state_of()
    torch.randn(1)
    a1 = state_of()
    torch.randn(1)
    a2 = state_of()
    rec["randn_cache_states"] = {"after_first_sha": sha_bytes(a1), "after_second_sha": sha_bytes(a2),
                                 "draws": [count_draws(b, a1), count_draws(a1, a2)],
                                 "cache_bytes_after_first": a1[5016:].hex(),
                                 "cache_bytes_after_second": a2[5016:].hex()}
    return rec


def sc_random_():
    rec = {}
    for dt in ("int64", "int32", "int16", "int8", "uint8", "float32", "float64", "bool"):
        d = getattr(torch, dt)
        rec[f"{dt}_scalar"] = op_record(lambda d=d: torch.empty((), dtype=d).random_())
        rec[f"{dt}_5"] = op_record(lambda d=d: torch.empty(5, dtype=d).random_())
    rec["int64_to_10"] = op_record(lambda: torch.empty(5, dtype=torch.int64).random_(10))
    rec["int64_to_2**32+1"] = op_record(lambda: torch.empty(5, dtype=torch.int64).random_(2**32 + 1))
    rec["int64_full_range"] = op_record(
        lambda: torch.empty(5, dtype=torch.int64).random_(-2**63, None))
    return rec


BERN_DTYPES = ("float32", "float64", "bfloat16", "float16")
BERN_SIZES = (1, 7, 512, 10000)


def _make(d, n, contiguous):
    if contiguous:
        return torch.empty(n, dtype=d)
    return torch.empty(n, 2, dtype=d)[:, 0]


def sc_bernoulli():
    """bernoulli_(float p), bernoulli_(tensor p), torch.bernoulli(t)."""
    rec = {}
    for dt in BERN_DTYPES:
        d = getattr(torch, dt)
        for n in BERN_SIZES:
            for contig in (True, False):
                tag = f"{dt}_{n}_{'contig' if contig else 'strided'}"
                rec[f"scalar_p_{tag}"] = op_record(lambda contig=contig, d=d, n=n: _make(d, n, contig).bernoulli_(0.3))
                rec[f"tensor_p_same_dtype_{tag}"] = op_record(
                    lambda contig=contig, d=d, n=n: _make(d, n, contig).bernoulli_(torch.full((n,), 0.3, dtype=d)))
            rec[f"tensor_p_float64_{dt}_{n}"] = op_record(
                lambda d=d, n=n: torch.empty(n, dtype=d).bernoulli_(torch.full((n,), 0.3, dtype=torch.float64)))
            rec[f"torch_bernoulli_{dt}_{n}"] = op_record(
                lambda d=d, n=n: torch.bernoulli(torch.full((n,), 0.3, dtype=d)))
    for dt in ("int32", "int64", "bool", "uint8"):
        d = getattr(torch, dt)
        rec[f"scalar_p_{dt}_7_contig"] = op_record(lambda d=d: torch.empty(7, dtype=d).bernoulli_(0.3))
    rec["scalar_p_float32_7_p0"] = op_record(lambda: torch.empty(7).bernoulli_(0.0))
    rec["scalar_p_float32_7_p1"] = op_record(lambda: torch.empty(7).bernoulli_(1.0))
    rec["scalar_p_float32_0"] = op_record(lambda: torch.empty(0).bernoulli_(0.3))
    rec["scalar_p_float32_64x8"] = op_record(lambda: torch.empty(64, 8).bernoulli_(0.7))
    rec["scalar_p_float32_64x8_transposed"] = op_record(lambda: torch.empty(8, 64).t().bernoulli_(0.7))
    g = torch.Generator()
    rec["scalar_p_float32_512_generator"] = op_record(
        lambda: torch.empty(512).bernoulli_(0.3, generator=g), gen=g)
    # a 0-dim tensor p takes the tensor path, a Python float the scalar path
    rec["tensor_p_0dim_float32_7"] = op_record(lambda: torch.empty(7).bernoulli_(torch.tensor(0.3)))
    rec["tensor_p_0dim_float64_7"] = op_record(
        lambda: torch.empty(7).bernoulli_(torch.tensor(0.3, dtype=torch.float64)))
    rec["torch_bernoulli_p_float_float32_7"] = op_record(
        lambda: torch.bernoulli(torch.empty(7), 0.3))
    return rec


def sc_dropout():
    """F.dropout and friends, training mode."""
    rec = {}
    shapes = {"1": (1,), "7": (7,), "64x8": (64, 8), "10000": (10000,)}
    for dt in BERN_DTYPES:
        d = getattr(torch, dt)
        for name, shp in shapes.items():
            rec[f"dropout_{dt}_{name}"] = op_record(
                lambda d=d, shp=shp: F.dropout(torch.ones(shp, dtype=d), 0.3, training=True))
    rec["dropout_float32_64x8_requires_grad"] = op_record(
        lambda: F.dropout(torch.ones(64, 8, requires_grad=True), 0.3, training=True))
    rec["dropout_float32_64x8_strided"] = op_record(
        lambda: F.dropout(torch.ones(8, 64).t(), 0.3, training=True))
    rec["dropout_float32_64x8_inplace"] = op_record(
        lambda: F.dropout(torch.ones(64, 8), 0.3, training=True, inplace=True))
    rec["dropout_float32_64x8_p0"] = op_record(lambda: F.dropout(torch.ones(64, 8), 0.0, training=True))
    rec["dropout_float32_64x8_p1"] = op_record(lambda: F.dropout(torch.ones(64, 8), 1.0, training=True))
    rec["dropout_float32_64x8_eval"] = op_record(lambda: F.dropout(torch.ones(64, 8), 0.3, training=False))
    rec["torch_dropout_float32_64x8"] = op_record(lambda: torch.dropout(torch.ones(64, 8), 0.3, True))
    m = nn.Dropout(0.3)
    m.train()
    rec["nn_Dropout_train_64x8"] = op_record(lambda: m(torch.ones(64, 8)))
    m64 = nn.Dropout(0.3)
    rec["nn_Dropout_train_64x64"] = op_record(lambda: m64(torch.ones(64, 64)))
    me = nn.Dropout(0.3)
    me.eval()
    rec["nn_Dropout_eval_64x8"] = op_record(lambda: me(torch.ones(64, 8)))
    rec["dropout2d_2x3x4x4"] = op_record(lambda: F.dropout2d(torch.ones(2, 3, 4, 4), 0.3, training=True))
    rec["dropout2d_2x3x4x4_float64"] = op_record(
        lambda: F.dropout2d(torch.ones(2, 3, 4, 4, dtype=torch.float64), 0.3, training=True))
    rec["dropout1d_2x3x5"] = op_record(lambda: F.dropout1d(torch.ones(2, 3, 5), 0.3, training=True))
    rec["dropout3d_2x3x2x2x2"] = op_record(
        lambda: F.dropout3d(torch.ones(2, 3, 2, 2, 2), 0.3, training=True))
    rec["alpha_dropout_64x8"] = op_record(lambda: F.alpha_dropout(torch.ones(64, 8), 0.3, training=True))
    rec["alpha_dropout_64x8_float64"] = op_record(
        lambda: F.alpha_dropout(torch.ones(64, 8, dtype=torch.float64), 0.3, training=True))
    rec["feature_alpha_dropout_2x3x4x4"] = op_record(
        lambda: F.feature_alpha_dropout(torch.ones(2, 3, 4, 4), 0.3, training=True))
    return rec


def sc_distributions():
    """multinomial, normal_, exponential_, uniform_, and other in-place samplers."""
    rec = {}
    p10 = torch.arange(1, 11, dtype=torch.float32)
    p100 = torch.arange(1, 101, dtype=torch.float32)
    rec["multinomial_10_k1"] = op_record(lambda: torch.multinomial(p10, 1))
    rec["multinomial_10_k3"] = op_record(lambda: torch.multinomial(p10, 3))
    rec["multinomial_10_k3_replacement"] = op_record(lambda: torch.multinomial(p10, 3, replacement=True))
    rec["multinomial_10_k1_replacement"] = op_record(lambda: torch.multinomial(p10, 1, replacement=True))
    rec["multinomial_100_k20"] = op_record(lambda: torch.multinomial(p100, 20))
    rec["multinomial_100_k20_float64"] = op_record(lambda: torch.multinomial(p100.double(), 20))
    rec["multinomial_100_k20_replacement"] = op_record(
        lambda: torch.multinomial(p100, 20, replacement=True))
    rec["multinomial_2x10_k3"] = op_record(lambda: torch.multinomial(p10.repeat(2, 1), 3))
    rec["multinomial_2x10_k3_replacement"] = op_record(
        lambda: torch.multinomial(p10.repeat(2, 1), 3, replacement=True))
    for dt in ("float32", "float64", "bfloat16", "float16"):
        d = getattr(torch, dt)
        for n in (1, 16, 100):
            rec[f"normal__{dt}_{n}"] = op_record(lambda d=d, n=n: torch.empty(n, dtype=d).normal_())
            rec[f"exponential__{dt}_{n}"] = op_record(lambda d=d, n=n: torch.empty(n, dtype=d).exponential_())
            rec[f"uniform__{dt}_{n}"] = op_record(lambda d=d, n=n: torch.empty(n, dtype=d).uniform_())
        rec[f"exponential__{dt}_100_strided"] = op_record(
            lambda d=d: torch.empty(100, 2, dtype=d)[:, 0].exponential_())
        rec[f"normal__{dt}_100_strided"] = op_record(lambda d=d: torch.empty(100, 2, dtype=d)[:, 0].normal_())
    # empty tensors: from torch 2.1 every distribution op returns early on
    # numel() == 0; before, the MKL paths still drew their seed
    rec["exponential__float32_0"] = op_record(lambda: torch.empty(0).exponential_())
    rec["exponential__float64_0"] = op_record(lambda: torch.empty(0, dtype=torch.float64).exponential_())
    rec["normal__float32_0"] = op_record(lambda: torch.empty(0).normal_())
    rec["uniform__float32_0"] = op_record(lambda: torch.empty(0).uniform_())
    rec["random__int64_0"] = op_record(lambda: torch.empty(0, dtype=torch.int64).random_())
    rec["bernoulli_tensor_p_float32_0"] = op_record(lambda: torch.empty(0).bernoulli_(torch.empty(0)))
    rec["dropout_float32_0"] = op_record(lambda: F.dropout(torch.ones(0), 0.3, training=True))
    rec["torch_normal_tensor_mean_16"] = op_record(lambda: torch.normal(torch.zeros(16), 1.0))
    rec["geometric__float32_16"] = op_record(lambda: torch.empty(16).geometric_(0.3))
    rec["cauchy__float32_16"] = op_record(lambda: torch.empty(16).cauchy_())
    rec["log_normal__float32_16"] = op_record(lambda: torch.empty(16).log_normal_())
    rec["log_normal__float64_16"] = op_record(lambda: torch.empty(16, dtype=torch.float64).log_normal_())
    rec["poisson_float32_16"] = op_record(lambda: torch.poisson(torch.full((16,), 3.0)))
    return rec


def sc_init():
    """Module init draws."""
    rec = {}
    rec["Linear_8_8"] = op_record(lambda: nn.Linear(8, 8).weight)
    rec["Linear_8_64"] = op_record(lambda: nn.Linear(8, 64).weight)
    rec["Linear_64_1"] = op_record(lambda: nn.Linear(64, 1).weight)
    rec["Linear_8_8_no_bias"] = op_record(lambda: nn.Linear(8, 8, bias=False).weight)
    rec["Conv2d_3_4_3"] = op_record(lambda: nn.Conv2d(3, 4, 3).weight)
    rec["Embedding_10_4"] = op_record(lambda: nn.Embedding(10, 4).weight)
    rec["kaiming_uniform_8x8"] = op_record(lambda: nn.init.kaiming_uniform_(torch.empty(8, 8)))
    rec["xavier_normal_8x8"] = op_record(lambda: nn.init.xavier_normal_(torch.empty(8, 8)))
    rec["trunc_normal_8x8"] = op_record(lambda: nn.init.trunc_normal_(torch.empty(8, 8)))
    rec["normal_init_8x8"] = op_record(lambda: nn.init.normal_(torch.empty(8, 8)))
    rec["orthogonal_8x8"] = op_record(lambda: nn.init.orthogonal_(torch.empty(8, 8)))
    rec["writeup_model"] = op_record(
        lambda: nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Dropout(0.3), nn.Linear(64, 1))[0].weight)
    return rec


def _datapipe(persistent=False, workers=0, use_generator=False):
    try:
        from torch.utils.data.datapipes.iter import IterableWrapper
    except Exception as e:
        return {"error": err(e)}
    seed_all(0)
    dp = IterableWrapper(list(range(20))).shuffle()
    g = torch.Generator().manual_seed(7) if use_generator else None
    kw = {"num_workers": workers}
    if workers:
        kw["persistent_workers"] = persistent
    try:
        dl = DataLoader(dp, batch_size=4, shuffle=True, generator=g, **kw)
    except Exception as e:
        return {"error": err(e)}
    return _epochs(lambda: loader_indices(dl), g)


def sc_datapipe():
    """DataLoader over a shuffling IterDataPipe: the _share_dist_seed draw."""
    return {"global": _datapipe(), "generator": _datapipe(use_generator=True),
            "workers2": _datapipe(workers=2), "workers2_persistent": _datapipe(True, 2)}


def sc_random_split():
    rec = {}
    ds20 = IndexDataset(20)
    ds1806 = IndexDataset(1806)
    cases = [("int_15_5", ds20, [15, 5]), ("int_1445_361", ds1806, [1445, 361]),
             ("frac_0.8_0.2_n1806", ds1806, [0.8, 0.2]), ("frac_0.8_0.2_n20", ds20, [0.8, 0.2]),
             ("frac_0.3_0.3_0.4_n10", IndexDataset(10), [0.3, 0.3, 0.4]),
             ("frac_0.5_0.5_n7", IndexDataset(7), [0.5, 0.5])]
    for name, ds, lengths in cases:
        for gname in ("global", "generator"):
            seed_all(1)
            g = torch.Generator().manual_seed(42) if gname == "generator" else None
            gb, sb = (state_of(g) if g is not None else None), state_of()
            try:
                parts = random_split(ds, lengths, generator=g) if g is not None else random_split(ds, lengths)
            except Exception as e:
                rec[f"{name}_{gname}"] = {"error": err(e)}
                continue
            r = {"sizes": [len(p) for p in parts],
                 "indices_sha": [sha_json(list(p.indices)) for p in parts],
                 "first": [list(p.indices)[:N_FIRST] for p in parts],
                 "global_draws": count_draws(sb, state_of()),
                 "global_state_sha": sha_bytes(state_of())}
            if g is not None:
                r["g_draws"] = count_draws(gb, state_of(g))
                r["g_state_sha"] = sha_bytes(state_of(g))
            rec[f"{name}_{gname}"] = r
    return rec


def sc_seeding():
    """manual_seed key derivation and the raw state layout."""
    rec = {}
    for s in (0, 1, 1234, 2**32 + 1, 2**40 + 7, -1):
        try:
            torch.manual_seed(s)
            st = state_of()
            rec[str(s)] = {"state_sha": sha_bytes(st), "initial_seed": torch.initial_seed(),
                           "header": st[:24].hex(), "len": len(st)}
        except Exception as e:
            rec[str(s)] = {"error": err(e)}
    seed_all(0)
    g = torch.Generator()
    rec["fresh_generator_state_sha"] = sha_bytes(state_of(g))
    rec["fresh_generator_initial_seed"] = g.initial_seed()
    return rec


LARGE_N = 2**32 // 20  # 214748364: randperm's threshold for the large path


def _large_randperm(n):
    seed_all(0)
    b = state_of()
    p = torch.randperm(n)
    a = state_of()
    rec = {"n": n, "draws": count_draws(b, a), "state_sha": sha_bytes(a),
           "first": p[:N_FIRST].tolist(), "last": p[-N_FIRST:].tolist(),
           # sha256 of the permutation as little-endian int64 bytes (a JSON
           # list of 2**28 ints would be too big to build)
           "values_int64le_sha": sha_bytes(p.numpy().astype("<i8").tobytes())}
    del p
    return rec


def sc_large_randperm_214748364():
    return _large_randperm(LARGE_N)


def sc_large_randperm_214748363():
    return _large_randperm(LARGE_N - 1)


# The one list of scenario names.  Names starting with "large_" form the
# large group (skipped by --skip-large).
SCENARIOS = {
    "writeup_loop": sc_writeup_loop,
    "generator_dataloader": sc_generator_dataloader,
    "generator_sampler_bare": sc_generator_sampler_bare,
    "global_sampler_bare": sc_global_sampler_bare,
    "global_dataloader": sc_global_dataloader,
    "sequential_dataloader": sc_sequential_dataloader,
    "replacement": sc_replacement,
    "num_samples_above_n": sc_num_samples_above_n,
    "break_epoch": sc_break_epoch,
    "workers": sc_workers,
    "randperm": sc_randperm,
    "randint": sc_randint,
    "rand_randn": sc_rand_randn,
    "random_": sc_random_,
    "bernoulli": sc_bernoulli,
    "dropout": sc_dropout,
    "distributions": sc_distributions,
    "init": sc_init,
    "datapipe": sc_datapipe,
    "random_split": sc_random_split,
    "seeding": sc_seeding,
    "large_randperm_214748364": sc_large_randperm_214748364,
    "large_randperm_214748363": sc_large_randperm_214748363,
}

LARGE_PREFIX = "large_"


def environment():
    vendor = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    vendor = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    env = {"mkl": bool(torch.backends.mkl.is_available()), "cpu_vendor": vendor,
           "numpy": np.__version__, "python": "{}.{}".format(*sys.version_info[:2])}
    try:
        env["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except Exception:
        env["cpu_capability"] = None
    return env


def record(skip_large=False, only=None):
    """Run the scenarios; returns the document (the process's torch settings are restored)."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    scenarios, skipped = {}, []
    try:
        with warnings.catch_warnings():
            # out-of-range float randint bounds, deprecated datapipes, ...
            warnings.simplefilter("ignore")
            for name, fn in SCENARIOS.items():
                if only and name not in only:
                    continue
                if skip_large and name.startswith(LARGE_PREFIX):
                    skipped.append(name)
                    continue
                scenarios[name] = fn()
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
    return {"format": FORMAT, "version": FORMAT_VERSION, "torch": torch.__version__,
            "env": environment(), "skipped": skipped, "scenarios": scenarios}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--skip-large", action="store_true", help="leave out the large_* scenarios")
    ap.add_argument("--only", nargs="*", help="record only these scenarios")
    args = ap.parse_args(argv)
    data = record(skip_large=args.skip_large, only=set(args.only) if args.only else None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
