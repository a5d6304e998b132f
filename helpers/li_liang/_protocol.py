r"""Li & Liang's experimental protocol in one call: mixture data, then SGD on several widths.

Section 7 of Li & Liang (2018): draw a training and a test set from the mixture of
:func:`mixture` (same component means), train the network of Section 3 with minibatch SGD at
step :math:`\eta = c/m` on several widths side by side (:func:`train_widths`), and record the
test accuracy, the activation-pattern change and the relative distance. Several chapters run
this protocol (the overview, the heuristics of the model chapter, Figure 1, the exploration
page); :func:`train_on_mixture` is that protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .. import data as _data
from .._validate import check_int
from ._coupling import WidthSweep, train_widths
from ._mixture import MixtureData, mixture

__all__ = ["MixtureRun", "train_on_mixture"]


@dataclass(frozen=True)
class MixtureRun:
    """Result of :func:`train_on_mixture`.

    Attributes
    ----------
    sweep : WidthSweep
        The recorded metrics and the weights of every width.
    train, test : MixtureData
        The training and test samples.
    """

    sweep: WidthSweep
    train: MixtureData
    test: MixtureData


def train_on_mixture(widths: Sequence[int], *, n: int, d: int, num_classes: int,
                     components_per_class: int, steps: int, batch_size: int,
                     lr_times_m: float, generator: torch.Generator, n_test: int | None = None,
                     separation: float = 5.0, radius: float = 1.0, normalize: bool = True,
                     record_steps: Sequence[int] | None = None, random_labels: bool = False,
                     dtype: torch.dtype = torch.float64) -> MixtureRun:
    r"""Section 7's protocol: ``n`` training and ``n_test`` test points of one mixture, then
    ``steps`` SGD steps at :math:`\eta = c/m` on every width, all from one generator.

    The generator draws, in this order, the training set (and the component means), the test
    set, the random training labels if ``random_labels``, then everything :func:`train_widths`
    draws (initialisations in the order of ``widths``, then the minibatches).

    Parameters
    ----------
    widths : sequence of int
        Distinct widths :math:`m`.
    n, d, num_classes, components_per_class : int
        Training points, dimension, :math:`k` classes and :math:`l` components per class.
    steps, batch_size : int
        :math:`T` and :math:`B`.
    lr_times_m : float
        :math:`c = \eta m`.
    generator : torch.Generator
    n_test : int, optional
        Test points (default ``n``).
    separation, radius : float
        :math:`\sigma_0` and :math:`\sigma` of :func:`mixture` (the paper's 5 and 1).
    normalize : bool, default True
        Unit-norm inputs (assumption (A2)).
    record_steps : sequence of int, optional
        Steps at which to record (default ``0`` and ``steps``).
    random_labels : bool, default False
        Train on uniformly random labels instead (Sections 4 and 6: the same network fits them,
        farther from its initialisation); ``train.y`` keeps the true labels and the test set is
        labelled truly.
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    MixtureRun

    References
    ----------
    Li & Liang (2018), Section 7 (setup), Section 3 (network, SGD, (A3)).

    Examples
    --------
    >>> from helpers.li_liang import train_on_mixture
    >>> from helpers.rng import make_generator
    >>> run = train_on_mixture([20, 80], n=100, d=10, num_classes=2, components_per_class=2,
    ...                        steps=30, batch_size=10, lr_times_m=5.0,
    ...                        generator=make_generator(0))
    >>> final = run.sweep.at_step()
    >>> final.index.tolist(), bool((final.test_accuracy > 0.9).all())
    ([20, 80], True)
    """
    n_test = n if n_test is None else check_int(n_test, "n_test", minimum=1)
    train = mixture(n, d, num_classes, components_per_class, generator=generator,
                    separation=separation, radius=radius, normalize=normalize, dtype=dtype)
    test = mixture(n_test, d, num_classes, components_per_class, generator=generator,
                   radius=radius, normalize=normalize, centers=train.centers, dtype=dtype)
    if not isinstance(random_labels, bool):
        raise TypeError(f"random_labels must be a bool, got {random_labels!r}")
    y = (_data.random_labels(n, num_classes, generator=generator) if random_labels
         else train.y)
    sweep = train_widths(train.X, y, widths, num_classes=num_classes,
                         lr_times_m=lr_times_m, steps=steps, batch_size=batch_size,
                         generator=generator, X_test=test.X, y_test=test.y,
                         record_steps=record_steps)
    return MixtureRun(sweep=sweep, train=train, test=test)
