"""Li & Liang's mixture data (Section 3, (A1)-(A2); Section 7 and Appendix D settings)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from helpers.li_liang import (
    LI_LIANG_FIG6_RADII,
    LI_LIANG_FIG7_COMPONENTS,
    LI_LIANG_SYNTHETIC,
    MixtureData,
    mixture,
    mixture_geometry,
)
from helpers.rng import make_generator


def test_mixture_structure_and_balance(gen):
    k, l, n, d = 4, 3, 122, 40
    data = mixture(n, d, k, l, generator=gen)
    assert isinstance(data, MixtureData)
    assert data.X.shape == (n, d) and data.centers.shape == (k * l, d)
    assert data.y.dtype == torch.int64 and data.component.dtype == torch.int64
    assert torch.equal(data.labels_of_component, torch.arange(k * l) // l)
    assert torch.equal(data.y, data.labels_of_component[data.component])
    class_counts = data.y.bincount(minlength=k)
    assert int(class_counts.max() - class_counts.min()) <= 1
    comp_counts = data.component.bincount(minlength=k * l).view(k, l)
    assert int((comp_counts.max(dim=1).values - comp_counts.min(dim=1).values).max()) <= 1


def test_mixture_geometry_concentrates(gen):
    # ||x - mu_c||^2 = radius^2 chi^2_d / d: relative sd sqrt(2/d) = 0.045 at d = 1000;
    # ||mu_c - mu_c'||^2 = 2 sep^2 chi^2_d / d likewise. 6 sd bands over the sample.
    n, d, sep, rad = 200, 1000, 5.0, 1.0
    data = mixture(n, d, 5, 2, generator=gen, separation=sep, radius=rad)
    resid = (data.X - data.centers[data.component]).norm(dim=1)
    rel = 6 * math.sqrt(2 / d)
    assert float(resid.max()) < rad * math.sqrt(1 + rel)
    assert float(resid.min()) > rad * math.sqrt(1 - rel)
    cdist = torch.cdist(data.centers, data.centers)
    off = cdist[~torch.eye(10, dtype=torch.bool)]
    assert float(off.min()) > math.sqrt(2) * sep * math.sqrt(1 - rel)
    # every point is nearest to its own centre (centres far apart compared with the radius)
    nearest = torch.cdist(data.X, data.centers).argmin(dim=1)
    assert torch.equal(nearest, data.component)
    delta, diam = mixture_geometry(data)
    assert delta > math.sqrt(2) * sep * math.sqrt(1 - rel)
    assert diam < 2 * rad * math.sqrt(1 + rel)


def test_mixture_geometry_matches_brute_force(gen):
    data = mixture(30, 5, 3, 2, generator=gen, radius=2.0)
    X, y, c = data.X, data.y, data.component
    pairs = list(itertools.combinations(range(30), 2))
    delta = min(float((X[i] - X[j]).norm()) for i, j in pairs if y[i] != y[j])
    diam = max(float((X[i] - X[j]).norm()) for i, j in pairs if c[i] == c[j])
    got = mixture_geometry(data)
    assert got[0] == pytest.approx(delta, rel=1e-10) and got[1] == pytest.approx(diam, rel=1e-10)


def test_mixture_normalize_and_reuse_centers(gen):
    train = mixture(60, 200, 3, 2, generator=gen, normalize=True)
    assert torch.allclose(train.X.norm(dim=1), torch.ones(60, dtype=torch.float64))
    test = mixture(40, 200, 3, 2, generator=gen, normalize=True, centers=train.centers)
    assert test.centers is not train.centers and torch.equal(test.centers, train.centers)
    directions = train.centers / train.centers.norm(dim=1, keepdim=True)
    assert torch.equal(torch.cdist(test.X, directions).argmin(dim=1), test.component)


def test_mixture_iid_components(gen):
    data = mixture(3000, 5, 2, 3, generator=gen, balanced=False)
    counts = data.component.bincount(minlength=6).double()
    # multinomial(3000, 1/6): sd = sqrt(3000 * 1/6 * 5/6) = 20.4
    assert (counts - 500).abs().max() < 6 * 20.4
    assert int(counts.max() - counts.min()) > 1  # not stratified


def test_mixture_same_seed_same_data():
    a = mixture(20, 10, 2, 2, generator=make_generator(7))
    b = mixture(20, 10, 2, 2, generator=make_generator(7))
    for field in ("X", "y", "component", "centers"):
        assert torch.equal(getattr(a, field), getattr(b, field))


def test_li_liang_settings():
    assert LI_LIANG_SYNTHETIC["d"] == 1000 and LI_LIANG_SYNTHETIC["num_classes"] == 10
    assert LI_LIANG_SYNTHETIC["components_per_class"] == 2
    assert (LI_LIANG_SYNTHETIC["separation"], LI_LIANG_SYNTHETIC["radius"]) == (5.0, 1.0)
    assert LI_LIANG_FIG7_COMPONENTS == tuple(range(1, 8)) and LI_LIANG_FIG6_RADII[0] == 1.0
    with pytest.raises(TypeError):
        LI_LIANG_SYNTHETIC["d"] = 10  # read-only


def test_mixture_bad_inputs(gen):
    with pytest.raises(ValueError, match="num_classes must be an integer >= 1"):
        mixture(10, 3, 0, 2, generator=gen)
    with pytest.raises(ValueError, match="components_per_class must be an integer >= 1"):
        mixture(10, 3, 2, 0, generator=gen)
    with pytest.raises(ValueError, match="separation must be > 0"):
        mixture(10, 3, 2, 2, generator=gen, separation=-1.0)
    with pytest.raises(ValueError, match="radius must be >= 0"):
        mixture(10, 3, 2, 2, generator=gen, radius=-0.5)
    with pytest.raises(ValueError, match=r"centers must have shape \(4, 3\)"):
        mixture(10, 3, 2, 2, generator=gen, centers=torch.zeros(3, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match="normalize must be a bool"):
        mixture(10, 3, 2, 2, generator=gen, normalize=1)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        mixture(10, 3, 2, 2, generator=None)


def test_mixture_geometry_bad_inputs(gen):
    with pytest.raises(TypeError, match="data must be a MixtureData"):
        mixture_geometry((torch.zeros(2, 2), torch.zeros(2)))
    with pytest.raises(ValueError, match="at least two classes"):
        mixture_geometry(mixture(5, 3, 1, 2, generator=gen))
    with pytest.raises(ValueError, match="component with at least two points"):
        mixture_geometry(mixture(4, 3, 2, 2, generator=gen))


def test_xor_data_geometry(gen):
    from helpers.li_liang import mixture_geometry, xor_data
    xor = xor_data(2000, generator=gen)
    dist = (xor.X - xor.centers[xor.component]).norm(dim=1)
    assert float(dist.max()) <= 0.05 and float(dist.max()) > 0.049     # fills its disc
    # uniform on the disc: P(r <= 0.05/2) = 1/4
    assert abs(float((dist <= 0.025).double().mean()) - 0.25) < 0.04
    assert xor.y.tolist() == (xor.component // 2).tolist()
    delta, diameter = mixture_geometry(xor)
    assert 1.9 <= delta <= 2.0 and diameter <= 0.1
    assert diameter / delta <= 1 / 16                                     # (A1) with l = 2
    # not linearly separable: the class means coincide
    torch.testing.assert_close(xor.centers[:2].mean(0), xor.centers[2:].mean(0))


def test_lift_to_sphere(gen):
    from helpers.li_liang import lift_to_sphere
    X = torch.randn(20, 3, generator=gen, dtype=torch.float64)
    Z = lift_to_sphere(X)
    torch.testing.assert_close(Z.norm(dim=1), torch.ones(20, dtype=torch.float64))
    # the map is injective: x - mean is recovered from Z
    torch.testing.assert_close(Z[:, :3] / Z[:, 3:], X - X.mean(0))
    c = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    torch.testing.assert_close(lift_to_sphere(X, center=c)[:, :3] /
                               lift_to_sphere(X, center=c)[:, 3:], X - c)


def test_xor_and_lift_bad_inputs(gen):
    from helpers.li_liang import lift_to_sphere, xor_data
    with pytest.raises(ValueError, match="radius must be < 0.5"):
        xor_data(10, generator=gen, radius=0.5)
    with pytest.raises(TypeError, match="torch.Generator"):
        xor_data(10, generator=0)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        xor_data(0, generator=gen)
    with pytest.raises(ValueError, match=r"center must have shape \(2\)"):
        lift_to_sphere(torch.ones(3, 2, dtype=torch.float64),
                       center=torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="X must have 2 dimensions"):
        lift_to_sphere(torch.ones(3, dtype=torch.float64))


def test_train_on_mixture_is_data_then_train_widths():
    from helpers.li_liang import train_on_mixture, train_widths
    run = train_on_mixture([10, 40], n=60, d=8, num_classes=3, components_per_class=2,
                           steps=12, batch_size=6, lr_times_m=4.0,
                           generator=make_generator(9), n_test=30, record_steps=[0, 6, 12])
    g = make_generator(9)
    tr = mixture(60, 8, 3, 2, generator=g, normalize=True)
    te = mixture(30, 8, 3, 2, generator=g, normalize=True, centers=tr.centers)
    ref = train_widths(tr.X, tr.y, [10, 40], num_classes=3, lr_times_m=4.0, steps=12,
                       batch_size=6, generator=g, X_test=te.X, y_test=te.y,
                       record_steps=[0, 6, 12])
    assert torch.equal(run.train.X, tr.X) and torch.equal(run.test.X, te.X)
    assert run.sweep.frame.equals(ref.frame)
    assert run.sweep.at_step(6).index.tolist() == [10, 40]
    with pytest.raises(ValueError, match="n_test must be an integer >= 1"):
        train_on_mixture([10], n=60, d=8, num_classes=3, components_per_class=2, steps=1,
                         batch_size=6, lr_times_m=4.0, generator=make_generator(9), n_test=0)


def test_caps_are_bounded_and_uniform_in_the_ball(gen):
    from helpers.li_liang import caps
    centres = torch.eye(4, dtype=torch.float64)
    X = caps(centres, 0.2, 3000, generator=gen)
    torch.testing.assert_close(X.norm(dim=2), torch.ones(4, 3000, dtype=torch.float64))
    assert float((X - centres[:, None]).norm(dim=2).max()) <= 0.4
    # uniform in the ball: the mean radius of r u in R^4 is 4/5 of 0.2; the projection keeps
    # the 3 tangential directions, mean |offset| ~ 0.2 * 0.8 * E|u_tangent| (about 0.14)
    mean_offset = float((X - centres[:, None]).norm(dim=2).mean())
    assert 0.1 < mean_offset < 0.16
    assert torch.equal(caps(centres, 0.0, 5, generator=gen), centres[:, None].expand(4, 5, 4))
    with pytest.raises(ValueError, match="radius must be >= 0.0"):
        caps(centres, -0.1, 5, generator=gen)
    with pytest.raises(ValueError, match="per must be an integer >= 1"):
        caps(centres, 0.1, 0, generator=gen)


def test_train_on_mixture_random_labels():
    from helpers.li_liang import train_on_mixture
    run = train_on_mixture([20], n=60, d=8, num_classes=3, components_per_class=2, steps=5,
                           batch_size=6, lr_times_m=4.0, generator=make_generator(2),
                           random_labels=True)
    g = make_generator(2)
    tr = mixture(60, 8, 3, 2, generator=g, normalize=True)
    mixture(60, 8, 3, 2, generator=g, normalize=True, centers=tr.centers)
    from helpers.data import random_labels
    y = random_labels(60, 3, generator=g)
    assert torch.equal(run.train.y, tr.y) and not torch.equal(y, tr.y)
    with pytest.raises(TypeError, match="random_labels must be a bool"):
        train_on_mixture([20], n=60, d=8, num_classes=3, components_per_class=2, steps=5,
                         batch_size=6, lr_times_m=4.0, generator=make_generator(2),
                         random_labels=1)
