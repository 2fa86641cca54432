"""utils.runtime, utils.progress and utils.exercises: seeding, device choice, quiet progress, checks."""

import random

import matplotlib
import numpy as np
import pytest
import torch

from utils import plotting
from utils.exercises import CheckResult, attempt
from utils.progress import progress
from utils.runtime import _set_seed, get_device, setup


def test_set_seed_makes_every_rng_repeat() -> None:
    def draw(gen: np.random.Generator) -> tuple[float, ...]:
        legacy = np.random.rand()  # noqa: NPY002  (the legacy global RNG is what _set_seed also seeds)
        return legacy, random.random(), torch.rand(1).item(), gen.random()

    a = draw(_set_seed(5))
    assert draw(_set_seed(5)) == a
    assert draw(_set_seed(6)) != a


def test_set_seed_bounds() -> None:
    _set_seed(2**32 - 1)  # the largest seed every generator accepts
    with pytest.raises(ValueError, match=r"^seed must be >= 0"):
        _set_seed(-1)
    with pytest.raises(ValueError, match=r"^seed must be <= 4294967295"):
        _set_seed(2**70)
    with pytest.raises(TypeError, match=r"^seed must be an integer"):
        _set_seed(1.5)


@pytest.mark.parametrize("gpu", [True, False])
def test_device_without_override(monkeypatch, gpu: bool) -> None:
    # a GPU is used when there is one (faked here, so the test means the same on every machine)
    monkeypatch.delenv("PTDL_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    assert get_device() == ("cuda" if gpu else "cpu")
    assert get_device(prefer_gpu=False) == "cpu"
    with pytest.raises(TypeError, match=r"^prefer_gpu must be True or False"):
        get_device("yes")


@pytest.mark.parametrize("value", ["cpu", "cuda", "cuda:1", "mps", " cpu "])
def test_ptdl_device_overrides_the_choice(monkeypatch, value: str) -> None:
    monkeypatch.setenv("PTDL_DEVICE", value)
    assert get_device() == value.strip()
    assert get_device(prefer_gpu=False) == value.strip()


@pytest.mark.parametrize("value", ["gpu", "cuda:x", "cpu cuda"])
def test_ptdl_device_rejects_unknown_devices(monkeypatch, value: str) -> None:
    monkeypatch.setenv("PTDL_DEVICE", value)
    with pytest.raises(ValueError, match=r"^PTDL_DEVICE must be cpu, cuda, cuda:N or mps"):
        get_device()


def test_empty_ptdl_device_means_no_override(monkeypatch) -> None:
    monkeypatch.setenv("PTDL_DEVICE", "")
    assert get_device(prefer_gpu=False) == "cpu"


def test_setup_sets_threads_style_and_seeds() -> None:
    before = torch.get_num_threads()  # conftest has set 1: start from 2 so that the call must change it
    try:
        with matplotlib.rc_context():
            matplotlib.rcdefaults()
            torch.set_num_threads(2)
            setup(seed=3, threads=None)  # None leaves the thread count alone
            assert torch.get_num_threads() == 2
            setup(seed=3, threads=1)
            assert torch.get_num_threads() == 1
            # the course style: its palette and its figure resolution
            assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"] == list(plotting.PALETTE)
            assert matplotlib.rcParams["figure.dpi"] == plotting.DPI
            a = torch.rand(1).item()
            setup(seed=3)
            assert torch.rand(1).item() == a
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match=r"^threads must be >= 1"):
        setup(threads=0)


@pytest.mark.parametrize(
    ("value", "shown"),
    [("1", False), ("true", False), ("yes", False), ("TRUE", False), ("Yes", False), ("0", True), ("no", True)],
)
def test_ptdl_no_progress_turns_the_bar_off(monkeypatch, capsys, value: str, shown: bool) -> None:
    monkeypatch.setenv("PTDL_NO_PROGRESS", value)
    assert list(progress(range(3), desc="x")) == [0, 1, 2]
    captured = capsys.readouterr()
    assert (captured.err != "") == shown and captured.out == ""


def test_attempt_turns_errors_into_verdicts() -> None:
    def stub(x):
        raise NotImplementedError

    value, verdict = attempt(stub, 1)
    assert value is None and isinstance(verdict, CheckResult) and not verdict
    assert "NotImplementedError" in str(verdict)
    value, verdict = attempt(lambda x: 1 / x, 0)
    assert verdict is not None and "ZeroDivisionError" in str(verdict)
    assert attempt(lambda x: x + 1, 1) == (2, None)
