"""The recorded reference vectors are well formed, complete, and -- for the
release this suite runs on -- still what real torch does.

The vectors themselves were written by ``record_release.py`` under real old
torch releases in side venvs (see README.md in this folder); nothing here
compares ``replay_sampler`` with them.  Checks of the library against the
vectors belong to the library's own tests.
"""

from __future__ import annotations

import json
import pathlib

import pytest

torch = pytest.importorskip("torch")

from tests.reference import record_release as rr  # noqa: E402

VECTORS = pathlib.Path(__file__).resolve().parent / "vectors"
FILES = sorted(VECTORS.glob("torch-*.json"))

# Scenarios whose recorded numbers depend only on integer arithmetic and
# draw counts (no float kernels, no worker processes), so a rerun on any
# x86 machine with the same release must reproduce them byte for byte.
PORTABLE = ("randperm", "randint", "random_", "bernoulli", "random_split", "generator_dataloader",
            "global_dataloader", "break_epoch", "replacement", "num_samples_above_n", "seeding")


def _load(path: pathlib.Path) -> dict:
    return json.loads(path.read_text())


def test_vectors_exist():
    assert FILES, "no recorded vectors"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_vector_file_is_complete(path):
    data = _load(path)
    assert data["format"] == rr.FORMAT and data["version"] == rr.FORMAT_VERSION
    release = path.name[len("torch-"):-len(".json")]
    assert data["torch"].split("+")[0] == release
    assert data["skipped"] == []
    assert set(data["scenarios"]) == set(rr.SCENARIOS)
    # compact and canonical: re-serialising gives the same bytes
    text = path.read_text()
    assert text == json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"


def test_scenario_names_are_unique_and_grouped():
    names = list(rr.SCENARIOS)
    assert len(names) == len(set(names))
    assert all(n in rr.SCENARIOS for n in PORTABLE)
    assert any(n.startswith(rr.LARGE_PREFIX) for n in names)


def test_count_draws_matches_torch():
    """The recorder's draw counter agrees with randperm's documented n-1."""
    torch.manual_seed(3)
    before = rr.state_of()
    torch.randperm(1000)
    after = rr.state_of()
    assert rr.count_draws(before, after) == 999
    assert rr.count_draws(before, before) == 0
    g = torch.Generator().manual_seed(5)
    b = rr.state_of(g)
    torch.randperm(5000, generator=g)
    assert rr.count_draws(b, rr.state_of(g)) == 4999


def _this_release_file():
    version = torch.__version__.split("+")[0]
    path = VECTORS / f"torch-{version}.json"
    return path if path.exists() else None


@pytest.mark.skipif(_this_release_file() is None, reason="no vectors for this torch release")
def test_this_release_still_records_the_same():
    """Rerunning the portable scenarios under the installed torch gives the stored numbers."""
    path = _this_release_file()
    assert path is not None
    stored = _load(path)["scenarios"]
    saved = torch.get_rng_state(), rr.np.random.get_state(), rr.random.getstate()
    try:
        fresh = rr.record(only=set(PORTABLE))["scenarios"]
    finally:
        torch.set_rng_state(saved[0])
        rr.np.random.set_state(saved[1])
        rr.random.setstate(saved[2])
    for name in PORTABLE:
        assert fresh[name] == stored[name], name
