"""Synthetic data: sphere points, separated sets, Li & Liang's structured mixtures, labels.

What it provides and where each piece comes from:

* :func:`sphere`, :func:`gaussian` -- i.i.d. inputs. Uniform points on the unit sphere are the
  standard random data of Oymak & Soltanolkotabi (2019, Corollary 2.2 and the discussion after
  it, "data points that are uniform on the unit sphere") and satisfy the unit-norm
  normalisation of Allen-Zhu, Li & Song (2019, Assumption 2.1 and the convention
  ``||x_i|| = 1`` used in Section 7.4) and of Li & Liang (2018, assumption (A2)).
* :func:`separation`, :func:`delta_separated` -- the separation of a data set: Allen-Zhu, Li &
  Song's delta-separateness ``||x_i - x_j|| >= delta`` (Assumption 2.1) and Oymak &
  Soltanolkotabi's delta-separable data ``min(||x_i - x_j||, ||x_i + x_j||) >= delta``
  (Assumption 1, Section 2.2, used in Theorem 2.5), and unit-norm data sets that meet a
  prescribed delta.
* :func:`mixture`, :class:`MixtureData`, :func:`mixture_geometry` -- Li & Liang's structured
  data (Section 3, assumptions (A1)-(A2); generator of Section 7 and Appendix D.2/D.3), with the
  settings of their Figures 1, 6 and 7 in :data:`LI_LIANG_SYNTHETIC`,
  :data:`LI_LIANG_FIG6_RADII` and :data:`LI_LIANG_FIG7_COMPONENTS`.
* :func:`random_labels`, :func:`random_signs`, :func:`one_hot` -- labels: the random labels of
  Oymak & Soltanolkotabi (whose guarantees hold for any labels) and of the random-label
  experiments of Zhang et al. (2017) that Li & Liang discuss (Sections 4 and 6), and one-hot
  targets for the square loss.

Every draw takes an explicit ``torch.Generator``; tensors are created on the generator's device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

import torch

from ._validate import check_generator, check_int, check_real, check_tensor

__all__ = [
    "sphere",
    "gaussian",
    "separation",
    "delta_separated",
    "MixtureData",
    "mixture",
    "mixture_geometry",
    "LI_LIANG_SYNTHETIC",
    "LI_LIANG_FIG6_RADII",
    "LI_LIANG_FIG7_COMPONENTS",
    "random_labels",
    "random_signs",
    "one_hot",
]

#: Li & Liang (2018), Section 7 "Setup" (Figure 1): d = 1000, k = 10 classes, l = 2 components
#: per class, component means with i.i.d. N(0, sigma_0^2/d) coordinates (sigma_0 = 5, our
#: ``separation``), in-component covariance sigma^2/d I (sigma = 1, our ``radius``); 1000 training
#: and 1000 test points. Training there: T = 400 steps, batch 16, learning rate 10/m.
LI_LIANG_SYNTHETIC = MappingProxyType({
    "d": 1000,
    "num_classes": 10,
    "components_per_class": 2,
    "separation": 5.0,
    "radius": 1.0,
    "n_train": 1000,
    "n_test": 1000,
})

#: In-component standard deviations sigma (our ``radius``) for Li & Liang's Figure 6 (Appendix
#: D.2: sigma_0 = 5 fixed, sigma varied). The paper does not print its values (they were in the
#: figure legend, which the text does not contain); these are the book's choice.
LI_LIANG_FIG6_RADII = (1.0, 2.0, 4.0, 8.0)

#: Components per class l for Li & Liang's Figure 7 (Appendix D.3: "we vary l from 1 to 7",
#: sigma = 1, sigma_0 = 5).
LI_LIANG_FIG7_COMPONENTS = (1, 2, 3, 4, 5, 6, 7)


def _check_dtype(dtype: object) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    return dtype


def sphere(n: int, d: int, *, generator: torch.Generator,
           dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Draw ``n`` i.i.d. points uniform on the unit sphere ``S^{d-1}``: ``x = g / ||g||``.

    With ``g ~ N(0, I_d)`` the direction ``g / ||g||`` is uniform on the sphere (rotation
    invariance), so ``E[x x^T] = I_d / d`` and, for independent ``x, x'``,
    ``E<x, x'> = 0`` and ``Var <x, x'> = 1/d``.

    Parameters
    ----------
    n : int
        Number of points (>= 1).
    d : int
        Ambient dimension (>= 1).
    generator : torch.Generator
        Source of randomness; the result lives on its device.
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    torch.Tensor
        Shape ``(n, d)``, every row of unit Euclidean norm.

    References
    ----------
    Oymak & Soltanolkotabi (2019), Corollary 2.2 (inputs uniform on the unit sphere);
    Li & Liang (2018), assumption (A2); Allen-Zhu, Li & Song (2019), ``||x_i|| = 1``.

    Examples
    --------
    >>> import torch
    >>> from helpers.rng import make_generator
    >>> from helpers.data import sphere
    >>> X = sphere(4, 3, generator=make_generator(0))
    >>> X.shape, X.dtype
    (torch.Size([4, 3]), torch.float64)
    >>> torch.allclose(X.norm(dim=1), torch.ones(4, dtype=torch.float64))
    True
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    check_generator(generator)
    dtype = _check_dtype(dtype)
    g = torch.randn(n, d, generator=generator, dtype=dtype, device=generator.device)
    return g / g.norm(dim=1, keepdim=True)


def gaussian(n: int, d: int, *, generator: torch.Generator, std: float = 1.0,
             dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Draw an ``(n, d)`` matrix with i.i.d. ``N(0, std^2)`` entries.

    Parameters
    ----------
    n, d : int
        Shape (both >= 1).
    generator : torch.Generator
        Source of randomness; the result lives on its device.
    std : float, default 1.0
        Standard deviation (> 0).
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    torch.Tensor
        Shape ``(n, d)``.

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> from helpers.data import gaussian
    >>> X = gaussian(1000, 2, generator=make_generator(0), std=3.0)
    >>> X.shape
    torch.Size([1000, 2])
    >>> 2.7 < float(X.std()) < 3.3
    True
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    check_generator(generator)
    std = check_real(std, "std", minimum=0.0, strict_min=True)
    dtype = _check_dtype(dtype)
    return std * torch.randn(n, d, generator=generator, dtype=dtype, device=generator.device)


def _pairwise_sq(X: torch.Tensor, symmetric: bool) -> torch.Tensor:
    """Squared (symmetric) distances from the Gram matrix, clamped at 0, diagonal = +inf."""
    gram = X @ X.T
    sq = gram.diagonal()
    if symmetric:
        # min(||a - b||^2, ||a + b||^2) = |a|^2 + |b|^2 - 2 |<a, b>|
        dist2 = sq[:, None] + sq[None, :] - 2 * gram.abs()
    else:
        dist2 = sq[:, None] + sq[None, :] - 2 * gram
    dist2 = dist2.clamp_min(0)
    dist2.fill_diagonal_(math.inf)
    return dist2


def separation(X: torch.Tensor, *, symmetric: bool = False) -> float:
    """Return ``min_{i != j} ||x_i - x_j||``, or ``min_{i != j} min(||x_i -+ x_j||)`` if symmetric.

    With ``symmetric=False`` this is the largest ``delta`` for which the rows of ``X`` are
    delta-separated in the sense of Allen-Zhu, Li & Song (2019), Assumption 2.1
    (``||x_i - x_j|| >= delta`` for every pair ``i != j``). With ``symmetric=True`` it is the
    largest ``delta`` of Oymak & Soltanolkotabi (2019), Assumption 1 (delta-separable data,
    Section 2.2, used in Theorem 2.5 and Appendix I): ``min(||x_i - x_j||, ||x_i + x_j||) >=
    delta`` for every pair, which also excludes nearly antipodal points (a ReLU feature cannot
    tell ``x`` from ``-x`` apart in the quantity that theorem needs). Both papers state it for
    unit-norm rows; this function does not require unit norm.

    Computed from the Gram matrix, ``||a -+ b||^2 = |a|^2 + |b|^2 -+ 2<a, b>``, clamped at 0
    before the square root (rounding can make it slightly negative for coincident points).

    Parameters
    ----------
    X : torch.Tensor
        Shape ``(n, d)`` with ``n >= 2``, floating, finite.
    symmetric : bool, default False
        Use Oymak & Soltanolkotabi's symmetric separation.

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> from helpers.data import separation
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-0.6, -0.8]], dtype=torch.float64)
    >>> round(separation(X), 4)  # ||e_2 - (-0.6, -0.8)|| = sqrt(0.36 + 3.24)
    1.4142
    >>> Y = torch.tensor([[1.0, 0.0], [-0.8, 0.6]], dtype=torch.float64)
    >>> round(separation(Y), 4), round(separation(Y, symmetric=True), 4)
    (1.8974, 0.6325)
    """
    check_tensor(X, "X", ndim=2, floating=True)
    if X.shape[0] < 2:
        raise ValueError(f"X must have at least 2 rows to have a separation, got shape "
                         f"{tuple(X.shape)}")
    if not isinstance(symmetric, bool):
        raise TypeError(f"symmetric must be a bool, got {symmetric!r}")
    return float(_pairwise_sq(X, symmetric).min().sqrt())


def delta_separated(n: int, d: int, delta: float, *, generator: torch.Generator,
                    symmetric: bool = False, dtype: torch.dtype = torch.float64,
                    max_rounds: int = 100) -> torch.Tensor:
    """Draw ``n`` unit vectors in ``R^d`` whose :func:`separation` is at least ``delta``.

    Sequential rejection sampling in batches: each round draws ``4 * need`` candidates uniform
    on the sphere, discards those closer than ``delta`` to an accepted point, and accepts every
    remaining candidate that no earlier remaining candidate is too close to (at least one per
    round while candidates survive). The law is that of random sequential addition, *not* the
    uniform law restricted to separated sets; use it where a theorem only needs some separated
    data set (Allen-Zhu, Li & Song 2019, Assumption 2.1; Oymak & Soltanolkotabi 2019,
    Assumption 1 with ``symmetric=True``).

    Two unit vectors are at distance at most 2, and ``min(||a - b||, ||a + b||)^2 =
    2 - 2|<a, b>| <= 2``, so ``delta > 2`` (``delta > sqrt(2)`` when ``symmetric``) is rejected
    at once. For feasible but tight ``delta`` the loop may not succeed; it then raises after
    ``max_rounds`` rounds.

    Parameters
    ----------
    n : int
        Number of points (>= 2).
    d : int
        Dimension (>= 1).
    delta : float
        Required separation (> 0).
    generator : torch.Generator
    symmetric : bool, default False
        Require Oymak & Soltanolkotabi's symmetric separation.
    dtype : torch.dtype, default torch.float64
    max_rounds : int, default 100
        Redraw rounds before giving up.

    Returns
    -------
    torch.Tensor
        Shape ``(n, d)``, unit rows, ``separation(X, symmetric=symmetric) >= delta``.

    Raises
    ------
    ValueError
        If ``delta`` is infeasible or the redraws did not succeed within ``max_rounds``.

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> from helpers.data import delta_separated, separation
    >>> X = delta_separated(20, 3, 0.5, generator=make_generator(0))
    >>> X.shape, separation(X) >= 0.5
    (torch.Size([20, 3]), True)
    """
    n = check_int(n, "n", minimum=2)
    d = check_int(d, "d", minimum=1)
    delta = check_real(delta, "delta", minimum=0.0, strict_min=True)
    check_generator(generator)
    if not isinstance(symmetric, bool):
        raise TypeError(f"symmetric must be a bool, got {symmetric!r}")
    dtype = _check_dtype(dtype)
    max_rounds = check_int(max_rounds, "max_rounds", minimum=1)
    limit = math.sqrt(2.0) if symmetric else 2.0
    if delta > limit:
        what = "min(||x_i - x_j||, ||x_i + x_j||)" if symmetric else "||x_i - x_j||"
        raise ValueError(f"delta must be <= {limit:.4f} because {what} <= {limit:.4f} for unit "
                         f"vectors, got {delta}")
    if d == 1 and (symmetric or n > 2):
        raise ValueError(f"delta-separated points do not exist for d=1 with n={n} and "
                         f"symmetric={symmetric} (the unit sphere in R^1 is {{-1, +1}}); "
                         f"use d >= 2")
    # a relative margin of a few ulps makes separation(X) >= delta hold despite rounding
    target = delta * delta * (1 + 64 * torch.finfo(dtype).eps)
    kept = torch.empty(0, d, dtype=dtype, device=generator.device)
    for _ in range(max_rounds):
        need = n - kept.shape[0]
        if need == 0:
            return kept
        cand = sphere(4 * need, d, generator=generator, dtype=dtype)
        if kept.shape[0]:
            gram = cand @ kept.T
            if symmetric:
                gram = gram.abs()
            sq_c = (cand * cand).sum(dim=1)[:, None]
            sq_k = (kept * kept).sum(dim=1)[None, :]
            cand = cand[((sq_c + sq_k - 2 * gram).clamp_min(0) >= target).all(dim=1)]
        if cand.shape[0]:
            # keep candidate j unless an earlier candidate i < j is too close to it
            close = torch.triu(_pairwise_sq(cand, symmetric) < target, diagonal=1).any(dim=0)
            kept = torch.cat([kept, cand[~close][:need]])
    if kept.shape[0] == n:
        return kept
    raise ValueError(
        f"could not draw n={n} unit vectors in d={d} with separation >= delta={delta} "
        f"(symmetric={symmetric}) within max_rounds={max_rounds}; delta is probably too large "
        f"for this n and d: decrease delta or n, or increase d or max_rounds"
    )


@dataclass(frozen=True)
class MixtureData:
    """A sample from Li & Liang's mixture model (see :func:`mixture`).

    Attributes
    ----------
    X : torch.Tensor
        Inputs, shape ``(n, d)``.
    y : torch.Tensor
        Class labels (long), shape ``(n,)``, values in ``[0, k)``.
    component : torch.Tensor
        Component index (long), shape ``(n,)``, values in ``[0, k l)``; component ``c``
        belongs to class ``c // l`` (the paper's ``D_{i,j}`` is component ``i l + j``).
    centers : torch.Tensor
        Component means ``mu_c``, shape ``(k l, d)``, never normalised (with unit-normalised
        points, the points concentrate around ``centers / ||centers||``).
    labels_of_component : torch.Tensor
        Class of each component (long), shape ``(k l,)``: ``arange(k l) // l``.
    """

    X: torch.Tensor
    y: torch.Tensor
    component: torch.Tensor
    centers: torch.Tensor
    labels_of_component: torch.Tensor


def _stratified(n: int, k: int, l: int, generator: torch.Generator) -> torch.Tensor:
    """Component indices with class counts differing by <= 1 and component counts within a
    class differing by <= 1, in random order."""
    i = torch.arange(n, device=generator.device)
    perm_classes = torch.randperm(k, generator=generator, device=generator.device)
    perm_comps = torch.randperm(l, generator=generator, device=generator.device)
    cls = perm_classes[i % k]
    comp = perm_comps[(i // k) % l]
    order = torch.randperm(n, generator=generator, device=generator.device)
    return (cls * l + comp)[order]


def mixture(n: int, d: int, num_classes: int, components_per_class: int, *,
            generator: torch.Generator, separation: float = 5.0, radius: float = 1.0,
            normalize: bool = False, balanced: bool = True, centers: torch.Tensor | None = None,
            dtype: torch.dtype = torch.float64) -> MixtureData:
    """Li & Liang's structured data: ``k`` classes, each a mixture of ``l`` Gaussian components.

    The generator of Li & Liang (2018), Section 7 "Setup" and Appendix D.2/D.3. There are
    ``k l`` components ``D_{i,j}`` (class ``i``, component ``j``; here index ``c = i l + j``)
    with centres ``mu_c = (separation / sqrt(d)) g'_c`` and points

        ``x = mu_c + (radius / sqrt(d)) g``,   ``g, g'_c ~ N(0, I_d)``,

    i.e. the paper's component covariance ``sigma^2/d I`` with ``sigma = radius`` and mean
    distribution ``N(0, sigma_0^2/d I)`` with ``sigma_0 = separation`` (Appendix D writes
    ``sigma/sqrt(d)`` and ``sigma_0/sqrt(d)``: the same numbers read as standard deviations).
    The label is the class ``y = c // l``.

    Geometry, for large ``d``: a point lies at distance ``~ radius`` from its centre, two centres
    at distance ``~ sqrt(2) * separation``, and inputs have norm
    ``~ sqrt(separation^2 + radius^2)`` (about 5.1 for the paper's 5 and 1).

    How it maps to the assumptions of Section 3:

    * (A1) asks that supports of components of *different* classes be at distance ``>= delta``
      and that each component have diameter ``<= lambda delta`` with ``lambda <= 1/(8l)``.
      Gaussian components have unbounded support, so (A1) holds only for the sample: the
      empirical ``delta`` and diameter are what :func:`mixture_geometry` returns. For large
      ``d``, ``||x - x'||^2 ~ ||mu_c - mu_c'||^2 + 2 radius^2``, so ``delta`` is near
      ``sqrt(2 (separation^2 + radius^2))`` (less by the fluctuation of the centre distances,
      relative size ``~ sqrt(2/d)``) and the diameter near ``sqrt(2) radius`` (more by the
      sample extremes): ``lambda`` is about ``radius / separation``. The paper's own setting
      (1/5) does not meet ``lambda <= 1/16`` (measured ``lambda ~ 0.23`` with d = 1000);
      ``radius`` of about 0.25 does.
    * (A2) asks for ``||x|| = 1``. The paper does not say whether its inputs were normalised;
      ``normalize=True`` maps every point to the unit sphere. By symmetry of the noise,
      ``E[x / ||x||]`` points along ``mu_c``, so ``mu_c / ||mu_c||`` is the paper's normalised
      component mean ``x*_{a,b}`` (Appendix B).

    The paper draws each example's component i.i.d. with probability ``1/(k l)``; with
    ``balanced=True`` (default) the component counts are stratified instead: classes get
    ``floor(n/k)`` or ``ceil(n/k)`` points and components within a class differ by at most one,
    which removes multinomial noise from small samples. ``balanced=False`` is the paper's
    i.i.d. draw.

    Parameters
    ----------
    n : int
        Number of points (>= 1).
    d : int
        Dimension (>= 1); the paper uses 1000.
    num_classes : int
        ``k`` (>= 1); the paper uses 10.
    components_per_class : int
        ``l`` (>= 1); the paper uses 2 (Figure 7: 1 to 7).
    generator : torch.Generator
    separation : float, default 5.0
        ``sigma_0`` (> 0): centre coordinates have standard deviation ``separation/sqrt(d)``.
    radius : float, default 1.0
        ``sigma`` (>= 0): in-component coordinates have standard deviation ``radius/sqrt(d)``
        (Figure 6 varies it).
    normalize : bool, default False
        Project points and centres onto the unit sphere (assumption (A2)).
    balanced : bool, default True
        Stratified component counts (see above) instead of i.i.d. components.
    centers : torch.Tensor, optional
        Reuse these ``(k l, d)`` centres, e.g. ``train.centers``, to draw a test set or fresh
        samples for online SGD from the *same* distribution; ``separation`` is then not used.
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    MixtureData
        ``centers`` are always the unnormalised means ``mu_c`` (the generator's parameters), so
        they can be passed back exactly; with ``normalize=True`` the points concentrate around
        the unit directions ``centers / ||centers||``.

    References
    ----------
    Li & Liang (2018), Section 3 (data model, (A1), (A2)), Section 7 (synthetic setup and
    Figure 1), Appendix D.2 (Figure 6), Appendix D.3 (Figure 7). The paper's settings are in
    :data:`LI_LIANG_SYNTHETIC`, :data:`LI_LIANG_FIG6_RADII`, :data:`LI_LIANG_FIG7_COMPONENTS`.

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> from helpers.data import mixture
    >>> g = make_generator(0)
    >>> train = mixture(100, 50, 4, 2, generator=g)
    >>> train.X.shape, train.centers.shape, train.y.bincount().tolist()
    (torch.Size([100, 50]), torch.Size([8, 50]), [25, 25, 25, 25])
    >>> test = mixture(40, 50, 4, 2, generator=g, centers=train.centers)
    >>> bool((test.centers == train.centers).all())
    True
    >>> unit = mixture(10, 50, 4, 2, generator=g, normalize=True)
    >>> [round(v, 6) for v in unit.X.norm(dim=1)[:3].tolist()]
    [1.0, 1.0, 1.0]
    >>> from helpers.data import LI_LIANG_SYNTHETIC as P  # the paper's Figure 1 setting
    >>> (P["d"], P["num_classes"], P["components_per_class"], P["separation"], P["radius"])
    (1000, 10, 2, 5.0, 1.0)
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    k = check_int(num_classes, "num_classes", minimum=1)
    l = check_int(components_per_class, "components_per_class", minimum=1)
    check_generator(generator)
    separation = check_real(separation, "separation", minimum=0.0, strict_min=True)
    radius = check_real(radius, "radius", minimum=0.0)
    for flag, name in ((normalize, "normalize"), (balanced, "balanced")):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool, got {flag!r}")
    dtype = _check_dtype(dtype)
    device = generator.device
    if centers is not None:
        check_tensor(centers, "centers", shape=(k * l, d), floating=True)
        if torch.device(centers.device).type != torch.device(device).type:
            raise ValueError(f"centers live on {centers.device} but the generator on {device}; "
                             f"use a generator on the same device")
        mu = centers.to(dtype=dtype, copy=True)
    else:
        mu = (separation / math.sqrt(d)) * torch.randn(k * l, d, generator=generator,
                                                       dtype=dtype, device=device)
    if balanced:
        component = _stratified(n, k, l, generator)
    else:
        component = torch.randint(0, k * l, (n,), generator=generator, device=device)
    noise = torch.randn(n, d, generator=generator, dtype=dtype, device=device)
    X = mu[component] + (radius / math.sqrt(d)) * noise
    if normalize:
        X = X / X.norm(dim=1, keepdim=True)
    labels_of_component = torch.arange(k * l, device=device) // l
    return MixtureData(X=X, y=labels_of_component[component], component=component,
                       centers=mu, labels_of_component=labels_of_component)


def mixture_geometry(data: MixtureData) -> tuple[float, float]:
    """Empirical (A1) constants of a mixture sample: ``(delta, diameter)``.

    ``delta = min ||x - x'||`` over pairs of points with *different* labels (Li & Liang's
    ``dist(supp D_{i1,j1}, supp D_{i2,j2})``, restricted to the sample) and ``diameter =
    max ||x - x'||`` over pairs in the *same component* (the largest ``diam(supp D_{i,j})``).
    Assumption (A1) of Li & Liang (2018, Section 3) asks ``diameter <= lambda * delta`` with
    ``lambda <= 1/(8 l)``; the ratio ``diameter / delta`` is the sample's ``lambda``.

    Parameters
    ----------
    data : MixtureData
        Needs at least two classes present and one component with two points.

    Returns
    -------
    tuple of float
        ``(delta, diameter)``.

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> from helpers.data import mixture, mixture_geometry
    >>> data = mixture(200, 1000, 3, 2, generator=make_generator(0), radius=0.25)
    >>> delta, diam = mixture_geometry(data)
    >>> round(delta, 2), round(diam, 2), diam / delta <= 1 / 16  # (A1) with lambda = 1/(8 l)
    (6.73, 0.38, True)
    """
    if not isinstance(data, MixtureData):
        raise TypeError(f"data must be a MixtureData (from helpers.data.mixture), got "
                        f"{type(data).__name__}")
    X, y, comp = data.X, data.y, data.component
    dist = torch.cdist(X, X)
    diff_class = y[:, None] != y[None, :]
    same_comp = (comp[:, None] == comp[None, :])
    same_comp.fill_diagonal_(False)
    if not bool(diff_class.any()):
        raise ValueError("data must contain points of at least two classes to have a delta")
    if not bool(same_comp.any()):
        raise ValueError("data must contain a component with at least two points to have a "
                         "diameter")
    delta = float(dist[diff_class].min())
    diameter = float(dist[same_comp].max())
    return delta, diameter


def random_labels(n: int, num_classes: int, *, generator: torch.Generator) -> torch.Tensor:
    """Draw ``n`` i.i.d. labels uniform on ``{0, ..., num_classes - 1}`` (long tensor).

    The random labels of Zhang et al. (2017), which Li & Liang (2018, Sections 4 and 6) use to
    contrast structured with unstructured data and which Oymak & Soltanolkotabi's results cover
    since they hold for arbitrary labels.

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> from helpers.data import random_labels
    >>> y = random_labels(6, 3, generator=make_generator(0))
    >>> y.dtype, y.shape, bool(((0 <= y) & (y < 3)).all())
    (torch.int64, torch.Size([6]), True)
    """
    n = check_int(n, "n", minimum=1)
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    check_generator(generator)
    return torch.randint(0, num_classes, (n,), generator=generator, device=generator.device)


def random_signs(n: int, *, generator: torch.Generator,
                 dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Draw ``n`` i.i.d. Rademacher signs (``+1`` or ``-1`` with probability 1/2 each).

    Random binary targets ``y in {-1, +1}^n`` for the square loss, e.g. to illustrate that
    Oymak & Soltanolkotabi's convergence guarantees hold whatever the labels.

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> from helpers.data import random_signs
    >>> s = random_signs(8, generator=make_generator(0))
    >>> sorted(set(s.tolist())) <= [-1.0, 1.0], s.dtype
    (True, torch.float64)
    """
    n = check_int(n, "n", minimum=1)
    check_generator(generator)
    dtype = _check_dtype(dtype)
    bits = torch.randint(0, 2, (n,), generator=generator, device=generator.device)
    return (2 * bits - 1).to(dtype)


def one_hot(y: torch.Tensor, num_classes: int, *,
            dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """One-hot encode integer labels: ``Y[i, c] = 1`` if ``y[i] == c`` else 0.

    Parameters
    ----------
    y : torch.Tensor
        Integer labels, shape ``(n,)``, values in ``[0, num_classes)``.
    num_classes : int
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    torch.Tensor
        Shape ``(n, num_classes)`` on ``y``'s device.

    Examples
    --------
    >>> import torch
    >>> from helpers.data import one_hot
    >>> one_hot(torch.tensor([2, 0]), 3)
    tensor([[0., 0., 1.],
            [1., 0., 0.]], dtype=torch.float64)
    """
    check_tensor(y, "y", ndim=1)
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"y must have an integer dtype, got {y.dtype}")
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    dtype = _check_dtype(dtype)
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= num_classes:
        raise ValueError(f"y must have values in [0, {num_classes}), got values in [{lo}, {hi}]")
    return torch.nn.functional.one_hot(y.long(), num_classes).to(dtype)
