"""Li & Liang's structured data: a mixture of well-separated components per class.

Section 3 of Li & Liang (2018), assumptions (A1)-(A2); the generator of Section 7 and
Appendix D.2/D.3, with the settings of their Figures 1, 6 and 7 (:func:`mixture`,
:func:`mixture_geometry`); the XOR example of Appendix C (Figure 3) and the lift to the sphere
that (A2) needs (:func:`xor_data`, :func:`lift_to_sphere`); components of bounded diameter on
the sphere (:func:`caps`), the book's instance of (A1) with compact supports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

import torch

from .._validate import check_dtype, check_generator, check_int, check_real, check_tensor

__all__ = ["MixtureData", "mixture", "mixture_geometry", "xor_data", "lift_to_sphere", "caps",
           "LI_LIANG_SYNTHETIC", "LI_LIANG_FIG6_RADII", "LI_LIANG_FIG7_COMPONENTS"]

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
    >>> from helpers.li_liang import mixture
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
    >>> from helpers.li_liang import LI_LIANG_SYNTHETIC as P  # the paper's Figure 1 setting
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
    dtype = check_dtype(dtype)
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
    >>> from helpers.li_liang import mixture, mixture_geometry
    >>> data = mixture(200, 1000, 3, 2, generator=make_generator(0), radius=0.25)
    >>> delta, diam = mixture_geometry(data)
    >>> round(delta, 2), round(diam, 2), diam / delta <= 1 / 16  # (A1) with lambda = 1/(8 l)
    (6.73, 0.38, True)
    """
    if not isinstance(data, MixtureData):
        raise TypeError(f"data must be a MixtureData (from helpers.li_liang.mixture), got "
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


def xor_data(n: int, *, generator: torch.Generator, radius: float = 0.05,
             dtype: torch.dtype = torch.float64) -> MixtureData:
    """The XOR example of Li & Liang's Appendix C (Figure 3): four small balls in the plane.

    Class 0 ("+") is uniform on the discs of radius ``radius`` (diameter 1/10 by default)
    centred at ``(0, 0)`` and ``(2, 2)``, class 1 ("-") on those centred at ``(0, 2)`` and
    ``(2, 0)``; each point's disc is drawn uniformly. With ``l = 2`` (each disc a component)
    (A1) holds with ``delta = 2 - 2 radius`` and ``lambda = 2 radius / delta`` (0.053 by
    default, below ``1/(8l) = 1/16``); with ``l = 1`` the class diameter ``~ 2 sqrt 2`` exceeds
    ``delta`` and (A1) fails. No linear classifier separates the classes.

    Parameters
    ----------
    n : int
        Number of points (>= 1).
    generator : torch.Generator
        Draws the discs, then the directions, then the radii.
    radius : float, default 0.05
        Radius of each disc (0 <= radius < 1/2).
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    MixtureData
        ``centers`` are the four disc centres (components 0, 1: class 0; 2, 3: class 1).

    References
    ----------
    Li & Liang (2018), Appendix C (Figure 3).

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> from helpers.li_liang import xor_data
    >>> xor = xor_data(8, generator=make_generator(0))
    >>> xor.X.shape, xor.labels_of_component.tolist()
    (torch.Size([8, 2]), [0, 0, 1, 1])
    >>> bool(((xor.X - xor.centers[xor.component]).norm(dim=1) <= 0.05).all())
    True
    """
    n = check_int(n, "n", minimum=1)
    check_generator(generator)
    radius = check_real(radius, "radius", minimum=0.0, maximum=0.5, strict_max=True)
    dtype = check_dtype(dtype)
    device = generator.device
    centers = torch.tensor([[0.0, 0.0], [2.0, 2.0], [0.0, 2.0], [2.0, 0.0]], dtype=dtype,
                           device=device)
    component = torch.randint(0, 4, (n,), generator=generator, device=device)
    u = torch.randn(n, 2, generator=generator, dtype=dtype, device=device)
    u = u / u.norm(dim=1, keepdim=True)
    r = radius * torch.rand(n, 1, generator=generator, dtype=dtype, device=device).sqrt()
    labels_of_component = torch.tensor([0, 0, 1, 1], device=device)
    return MixtureData(X=centers[component] + r * u, y=labels_of_component[component],
                       component=component, centers=centers,
                       labels_of_component=labels_of_component)


def lift_to_sphere(X: torch.Tensor, *, center: torch.Tensor | None = None) -> torch.Tensor:
    """Lift points of ``R^d`` to the unit sphere of ``R^{d+1}``: ``(x - c, 1) / ||(x - c, 1)||``.

    A bias-free ReLU network only sees directions, so points of the plane near the origin
    cannot be told apart by direction; centring at ``c`` and appending a constant coordinate
    turns every point into a unit vector (assumption (A2)) while keeping distinct points
    distinct. This is the book's repair of the XOR example (Appendix C violates (A2)).

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
    center : torch.Tensor, shape (d,), optional
        Default: the mean of the rows of ``X``.

    Returns
    -------
    torch.Tensor, shape (n, d + 1)
        Unit rows.

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import lift_to_sphere
    >>> X = torch.tensor([[0.0, 0.0], [2.0, 2.0]], dtype=torch.float64)
    >>> lift_to_sphere(X, center=torch.ones(2, dtype=torch.float64)) * 3 ** 0.5
    tensor([[-1., -1.,  1.],
            [ 1.,  1.,  1.]], dtype=torch.float64)
    """
    X = check_tensor(X, "X", ndim=2, floating=True)
    if center is None:
        center = X.mean(dim=0)
    center = check_tensor(center, "center", shape=(X.shape[1],), floating=True)
    Z = torch.cat([X - center, torch.ones(X.shape[0], 1, dtype=X.dtype, device=X.device)],
                  dim=1)
    return Z / Z.norm(dim=1, keepdim=True)


def caps(centres: torch.Tensor, radius: float, per: int, *,
         generator: torch.Generator) -> torch.Tensor:
    """Points of small caps of the sphere: ``normalize(c + radius r u)`` around each centre.

    ``u`` is uniform on the unit sphere and ``r = U^(1/d)`` (so ``r u`` is uniform in the unit
    ball), drawn in that order for all centres at once. Unlike the Gaussian components of
    :func:`mixture`, every cap has a bounded support: its diameter is at most ``2 radius`` before
    the projection, so (A1) can hold exactly (Li & Liang, Section 3).

    Parameters
    ----------
    centres : torch.Tensor, shape (k, d)
        Unit centres.
    radius : float
        ``>= 0``.
    per : int
        Points per cap.
    generator : torch.Generator

    Returns
    -------
    torch.Tensor, shape (k, per, d)
        Unit vectors.

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import caps
    >>> from helpers.rng import make_generator
    >>> X = caps(torch.eye(3, dtype=torch.float64), 0.1, 50, generator=make_generator(0))
    >>> X.shape, bool(((X - torch.eye(3, dtype=torch.float64)[:, None]).norm(dim=2) <= 0.2).all())
    (torch.Size([3, 50, 3]), True)
    """
    centres = check_tensor(centres, "centres", ndim=2, floating=True)
    radius = check_real(radius, "radius", minimum=0.0)
    per = check_int(per, "per", minimum=1)
    check_generator(generator)
    k, dd = centres.shape
    u = torch.randn(k, per, dd, generator=generator, dtype=centres.dtype, device=centres.device)
    u = u / u.norm(dim=2, keepdim=True)
    r = torch.rand(k, per, 1, generator=generator, dtype=centres.dtype,
                   device=centres.device) ** (1 / dd)
    x = centres[:, None, :] + radius * r * u
    return x / x.norm(dim=2, keepdim=True)
