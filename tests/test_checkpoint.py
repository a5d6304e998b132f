"""Checkpoints are atomic and verified; an interrupted run resumes to the same bits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from helpers.checkpoint import (
    MAGIC,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
    train_resumable,
)
from helpers.rng import make_generator


class Evil:
    """An arbitrary class: unpickling it would run code from this module."""


def _squared(outputs, targets):
    return 0.5 * (outputs.reshape(-1) - targets) ** 2


def _problem():
    g = make_generator(5)
    X = torch.randn(32, 6, generator=g, dtype=torch.float64)
    y = torch.randn(32, generator=g, dtype=torch.float64)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    model = model.double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=g, dtype=torch.float64))
    return model, X, y


def test_roundtrip_and_no_temporary_left(tmp_path):
    path = save_checkpoint(tmp_path / "sub" / "a.ckpt", {"w": torch.arange(3.0), "k": [1, "x"]})
    state = load_checkpoint(path)
    assert torch.equal(state["w"], torch.arange(3.0)) and state["k"] == [1, "x"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.ckpt"]


def test_corruption_and_truncation_detected(tmp_path):
    path = save_checkpoint(tmp_path / "a.ckpt", {"w": torch.ones(100)})
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        load_checkpoint(path)
    good = save_checkpoint(tmp_path / "b.ckpt", {"w": torch.ones(100)})
    good.write_bytes(good.read_bytes()[:-50])
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        load_checkpoint(good)
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        (tmp_path / "c.ckpt").write_bytes(b"hello")
        load_checkpoint(tmp_path / "c.ckpt")
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.ckpt")


def test_untrusted_payload_is_refused(tmp_path):
    """A file with a valid header but a pickled object is not deserialised."""
    import hashlib
    import io

    buffer = io.BytesIO()
    torch.save({"x": Evil()}, buffer)
    payload = buffer.getvalue()
    path = tmp_path / "evil.ckpt"
    path.write_bytes(MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
    with pytest.raises(CheckpointError, match="deserialised safely"):
        load_checkpoint(path)


def test_save_rejects_unsafe_state(tmp_path):
    with pytest.raises(TypeError, match="weights_only"):
        save_checkpoint(tmp_path / "x.ckpt", {"f": object()})
    with pytest.raises(TypeError, match="mapping"):
        save_checkpoint(tmp_path / "x.ckpt", [1, 2])
    with pytest.raises(TypeError, match="path"):
        save_checkpoint(3, {})
    assert not (tmp_path / "x.ckpt").exists()


def test_resume_is_bit_for_bit(tmp_path):
    model, X, y = _problem()
    full = train_resumable(model, _squared, X, y, lr=0.05, epochs=6, batch_size=5,
                           generator=make_generator(1), checkpoint_path=tmp_path / "full.ckpt")
    reference = [p.detach().clone() for p in model.parameters()]

    model2, _, _ = _problem()
    path = tmp_path / "split.ckpt"
    first = train_resumable(model2, _squared, X, y, lr=0.05, epochs=6, batch_size=5,
                            generator=make_generator(1), checkpoint_path=path,
                            max_epochs_this_call=2)
    assert len(first.records) == 2
    model3, _, _ = _problem()  # a fresh process would rebuild the model from scratch
    resumed = train_resumable(model3, _squared, X, y, lr=0.05, epochs=6, batch_size=5,
                              generator=make_generator(1), checkpoint_path=path)
    for a, b in zip(reference, model3.parameters()):
        assert torch.equal(a, b)
    assert resumed.column("loss").tolist() == full.column("loss").tolist()
    assert resumed.column("epoch").tolist() == [1, 2, 3, 4, 5, 6]


def test_mismatched_run_refused(tmp_path):
    model, X, y = _problem()
    path = tmp_path / "r.ckpt"
    train_resumable(model, _squared, X, y, lr=0.05, epochs=2, batch_size=4,
                    generator=make_generator(0), checkpoint_path=path)
    with pytest.raises(CheckpointError, match="belongs to a run"):
        train_resumable(model, _squared, X, y, lr=0.05, epochs=3, batch_size=4,
                        generator=make_generator(0), checkpoint_path=path)


def test_bad_arguments(tmp_path):
    model, X, y = _problem()
    kwargs = {"lr": 0.1, "epochs": 2, "batch_size": 4, "generator": make_generator(0),
              "checkpoint_path": tmp_path / "x.ckpt"}
    with pytest.raises(ValueError, match="epochs"):
        train_resumable(model, _squared, X, y, **(kwargs | {"epochs": 0}))
    with pytest.raises(TypeError, match="generator"):
        train_resumable(model, _squared, X, y, **(kwargs | {"generator": None}))
    with pytest.raises(TypeError, match="checkpoint_path"):
        train_resumable(model, _squared, X, y, **(kwargs | {"checkpoint_path": 1}))
    with pytest.raises(ValueError, match="max_epochs_this_call"):
        train_resumable(model, _squared, X, y, **(kwargs | {"max_epochs_this_call": 0}))


SCRIPT = textwrap.dedent(
    """
    import sys, time, torch
    sys.path.insert(0, {tests!r})
    from test_checkpoint import _problem, _squared
    from helpers.checkpoint import train_resumable
    from helpers.rng import make_generator
    model, X, y = _problem()
    slow = {{"sleep": lambda m: time.sleep({sleep}) or 0.0}}
    train_resumable(model, _squared, X, y, lr=0.05, epochs=6, batch_size=5,
                    generator=make_generator(1), checkpoint_path={path!r}, metrics=slow)
    torch.save([p.detach() for p in model.parameters()], {out!r})
    """
)


def test_kill_and_resume_subprocess(tmp_path):
    """SIGKILL a run after its first checkpoint, rerun it, compare with an uninterrupted run."""
    ckpt, out = str(tmp_path / "k.ckpt"), str(tmp_path / "final.pt")
    tests = os.path.dirname(__file__)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT.format(tests=tests, sleep=0.5,
                                                                 path=ckpt, out=out)], env=env)
    deadline = time.time() + 60
    while not os.path.exists(ckpt) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert os.path.exists(ckpt) and not os.path.exists(out), "the run was not killed midway"
    epochs_done = load_checkpoint(ckpt)["epoch"]
    assert 1 <= epochs_done < 6
    subprocess.run([sys.executable, "-c", SCRIPT.format(tests=tests, sleep=0.0, path=ckpt,
                                                        out=out)], env=env, check=True)
    model, X, y = _problem()
    train_resumable(model, _squared, X, y, lr=0.05, epochs=6, batch_size=5,
                    generator=make_generator(1), checkpoint_path=tmp_path / "ref.ckpt")
    for a, b in zip(model.parameters(), torch.load(out, weights_only=True)):
        assert torch.equal(a.detach(), b)


def test_schedule_resumes_bit_for_bit(tmp_path):
    """A step decay that changes mid-epoch, interrupted before and after the change."""
    from helpers.train import multistep

    # 32 examples, batch 5: 6 steps per epoch; decays after 15 updates (mid epoch 3),
    # 27 and 28 (both within epoch 5)
    schedule = multistep([15, 27, 28], 0.3)
    kwargs = {"lr": 0.05, "epochs": 6, "batch_size": 5, "schedule": schedule}
    model, X, y = _problem()
    full = train_resumable(model, _squared, X, y, generator=make_generator(1),
                           checkpoint_path=tmp_path / "full.ckpt", **kwargs)
    reference = [p.detach().clone() for p in model.parameters()]
    assert full.column("lr").tolist() == pytest.approx(
        [0.05, 0.05, 0.05 * 0.3, 0.05 * 0.3, 0.05 * 0.3**3, 0.05 * 0.3**3])

    path = tmp_path / "split.ckpt"
    for chunk in (2, 1, 3):          # three sessions, each rebuilding the model from scratch
        fresh, _, _ = _problem()
        resumed = train_resumable(fresh, _squared, X, y, generator=make_generator(1),
                                  checkpoint_path=path, max_epochs_this_call=chunk, **kwargs)
    for a, b in zip(reference, fresh.parameters()):
        assert torch.equal(a, b)
    assert resumed.records == full.records

    unscheduled, _, _ = _problem()   # the schedule is really applied
    train_resumable(unscheduled, _squared, X, y, lr=0.05, epochs=6, batch_size=5,
                    generator=make_generator(1), checkpoint_path=tmp_path / "plain.ckpt")
    assert not torch.equal(next(unscheduled.parameters()), reference[0])


def test_schedule_equals_phases_and_plain_train(tmp_path):
    """One scheduled call == the old emulation (one call per step-size phase) == train.train."""
    from helpers.train import multistep, train

    model, X, y = _problem()         # 32 examples, batch 4: 8 steps per epoch
    one = train_resumable(model, _squared, X, y, lr=0.05, epochs=6, batch_size=4,
                          generator=make_generator(2), checkpoint_path=tmp_path / "one.ckpt",
                          schedule=multistep([3 * 8, 5 * 8], 0.1))
    phased, _, _ = _problem()
    gen, losses = make_generator(2), []
    for phase, epochs in enumerate((3, 2, 1)):
        h = train_resumable(phased, _squared, X, y, lr=0.05 * 0.1**phase, epochs=epochs,
                            batch_size=4, generator=gen, checkpoint_path=tmp_path / f"{phase}")
        losses += h.column("loss").tolist()
    plain, _, _ = _problem()
    train(plain, _squared, X, y, lr=0.05, steps=48, batch_size=4, generator=make_generator(2),
          schedule=multistep([24, 40], 0.1), record_every=48)
    for a, b, c in zip(model.parameters(), phased.parameters(), plain.parameters()):
        assert torch.equal(a, b) and torch.equal(a, c)
    assert one.column("loss").tolist() == losses


def test_one_evaluation_per_epoch_and_batchnorm_buffers(tmp_path):
    """Forward passes per epoch: one per SGD step plus one full-set evaluation; BN buffers
    then equal those of an uninterrupted train.train run (recording does not move them)."""
    from helpers.train import train

    g = make_generator(3)
    X = torch.randn(24, 4, generator=g, dtype=torch.float64)
    y = torch.randn(24, generator=g, dtype=torch.float64)

    def bn_model():
        net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6),
                                  torch.nn.ReLU(), torch.nn.Linear(6, 1)).double()
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(0.5 * torch.randn(p.shape, generator=make_generator(4),
                                          dtype=torch.float64))
        return net

    net, calls = bn_model(), []
    net.register_forward_hook(lambda module, inputs, output: calls.append(len(inputs[0])))
    train_resumable(net, _squared, X, y, lr=0.1, epochs=3, batch_size=8,
                    generator=make_generator(5), checkpoint_path=tmp_path / "bn.ckpt",
                    eval_batch_size=16)
    assert calls == [8, 8, 8, 16, 8] * 3     # 3 steps, then the evaluation in chunks 16 + 8
    ref = bn_model()
    train(ref, _squared, X, y, lr=0.1, steps=9, batch_size=8, generator=make_generator(5),
          record_every=9, record_initial=False)
    a, b = net.state_dict(), ref.state_dict()
    for key in a:                             # weights and running statistics
        assert torch.equal(a[key], b[key]), key


def test_bad_schedule_and_eval_batch_size(tmp_path):
    model, X, y = _problem()
    kwargs = {"lr": 0.1, "epochs": 2, "batch_size": 4, "generator": make_generator(0),
              "checkpoint_path": tmp_path / "x.ckpt"}
    with pytest.raises(TypeError, match="schedule must be callable"):
        train_resumable(model, _squared, X, y, schedule=0.1, **kwargs)
    with pytest.raises(ValueError, match="eval_batch_size"):
        train_resumable(model, _squared, X, y, eval_batch_size=0, **kwargs)
    with pytest.raises(ValueError, match=r"schedule\(11\) must be a finite"):  # global step
        train_resumable(model, _squared, X, y, schedule=lambda t: -1.0 if t > 10 else 1.0,
                        **kwargs)
