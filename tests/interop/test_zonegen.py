"""tests/data/zonegen.py: the zones it makes are deterministic, load in NSD's
checker, and have what the DNS differential test and benchmark rely on."""

import shutil
import subprocess
import sys

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "tests" / "data"))
import zonegen  # noqa: E402


@pytest.fixture(autouse=True)
def _need_binary():
    """These tests do not run outpost."""


def test_same_seed_same_zone_and_queries():
    a = zonegen.make_zone("example.test", names=200, seed=7)
    b = zonegen.make_zone("example.test", names=200, seed=7)
    c = zonegen.make_zone("example.test", names=200, seed=8)
    assert a.text() == b.text()
    assert a.text() != c.text()
    assert zonegen.make_queries(a, 500, seed=7) == zonegen.make_queries(b, 500, seed=7)


def test_zone_has_every_kind_of_name():
    z = zonegen.make_zone("example.test", names=300, seed=1)
    assert z.records[0][2] == "SOA" and sum(r[2] == "SOA" for r in z.records) == 1
    types = {r[2] for r in z.records}
    assert {"NS", "A", "AAAA", "MX", "TXT", "SRV", "CAA", "CNAME"} <= types
    assert z.aliases and z.chains and z.out_aliases and z.dangling
    assert len(z.delegations) >= 3 and z.ents and z.wild_parents and z.big
    owners = {r[0] for r in z.records}
    assert "*.wild" in owners and "ent" not in owners
    for d in z.delegations:     # nothing below a delegation but glue
        below = [r for r in z.records if r[0].endswith("." + d)]
        assert all(r[2] in ("A", "AAAA") for r in below)


def test_query_mix():
    z = zonegen.make_zone("example.test", names=1000, seed=1)
    qs = zonegen.make_queries(z, 20000, seed=1)
    types = [t for _, t in qs]
    assert types.count("A") > types.count("AAAA") > types.count("MX") > 0
    assert sum(n != n.lower() for n, _ in qs) > 1000      # mixed case
    assert all(n.endswith(".") for n, _ in qs)


def test_records_option_gives_about_that_many():
    z = zonegen.make_zone("example.test", records=20000, seed=1)
    assert 20000 <= len(z.records) < 20100


@pytest.mark.skipif(not shutil.which("nsd-checkzone"), reason="nsd is not installed")
def test_nsd_accepts_the_zone(tmp_path):
    z = zonegen.make_zone("example.test", names=2000, seed=3)
    path = tmp_path / "example.test.zone"
    z.write(path)
    r = subprocess.run(["nsd-checkzone", "example.test", str(path)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
