"""Footprints of products: matrix LCA, Monte Carlo, circularity (EMF MCI) and the PEF CFF.

- ``lca``: ISO 14040/44 matrix LCA on bw_processing datapackages and bw2calc
- ``monte_carlo``: seeded uncertainty propagation and paired comparisons
- ``circularity``: Ellen MacArthur Foundation Material Circularity Indicator
- ``cff``: Circular Footprint Formula, Rec. (EU) 2021/2279 Annex I §4.4.8
"""

from mics.footprint.cff import CffParameters, CffResult, circular_footprint
from mics.footprint.circularity import (
    MaterialCircularity,
    MaterialInput,
    ProductCircularity,
    ProductInput,
    product_circularity,
)
from mics.footprint.lca import (
    ContributionNode,
    Contributions,
    IndicatorScore,
    LcaSystem,
    ProcessContribution,
    compile_system,
)
from mics.footprint.monte_carlo import Comparison, MonteCarloResult, compare, monte_carlo

__all__ = [
    "CffParameters",
    "CffResult",
    "Comparison",
    "ContributionNode",
    "Contributions",
    "IndicatorScore",
    "LcaSystem",
    "MaterialCircularity",
    "MaterialInput",
    "MonteCarloResult",
    "ProcessContribution",
    "ProductCircularity",
    "ProductInput",
    "circular_footprint",
    "compare",
    "compile_system",
    "monte_carlo",
    "product_circularity",
]
