"""Part II: two-layer ReLU networks learned by SGD on structured data (Li & Liang).

* the data model -- :func:`mixture`, :class:`MixtureData`, :func:`mixture_geometry` (Section 3,
  (A1)-(A2)) and the settings of Figures 1, 6 and 7 (:data:`LI_LIANG_SYNTHETIC`,
  :data:`LI_LIANG_FIG6_RADII`, :data:`LI_LIANG_FIG7_COMPONENTS`);
* the coupling argument -- :func:`relu_network` (eq. (1)), :func:`pseudo_network`,
  :func:`error_coefficients`, :func:`loss_gradient`, :func:`pseudo_gradient`,
  :func:`activation_pattern`, :func:`pattern_change` (Lemma 5.1), :func:`relative_distance`;
* the update's structure -- :func:`update_spectrum`, :func:`stable_rank`, :func:`spectral_gap`
  (Figure 1 (d), Appendix D);
* :func:`train_widths` -- the paper's SGD protocol on several widths at once, with the coupling
  metrics recorded (:class:`WidthSweep`).

Implementation modules (private): ``_mixture``, ``_coupling``.

Examples
--------
>>> from helpers import li_liang
>>> from helpers.rng import make_generator
>>> sample = li_liang.mixture(100, 20, 2, 2, generator=make_generator(0))
>>> tuple(sample.X.shape), sample.y.unique().tolist()
((100, 20), [0, 1])
"""

from ._coupling import (
    WidthSweep,
    activation_pattern,
    error_coefficients,
    loss_gradient,
    pattern_change,
    pseudo_gradient,
    pseudo_network,
    relative_distance,
    relu_network,
    spectral_gap,
    stable_rank,
    train_widths,
    update_spectrum,
)
from ._mixture import (
    LI_LIANG_FIG6_RADII,
    LI_LIANG_FIG7_COMPONENTS,
    LI_LIANG_SYNTHETIC,
    MixtureData,
    mixture,
    mixture_geometry,
)

__all__ = [
    "MixtureData",
    "mixture",
    "mixture_geometry",
    "LI_LIANG_SYNTHETIC",
    "LI_LIANG_FIG6_RADII",
    "LI_LIANG_FIG7_COMPONENTS",
    "relu_network",
    "pseudo_network",
    "error_coefficients",
    "loss_gradient",
    "pseudo_gradient",
    "activation_pattern",
    "pattern_change",
    "relative_distance",
    "update_spectrum",
    "stable_rank",
    "spectral_gap",
    "WidthSweep",
    "train_widths",
]
