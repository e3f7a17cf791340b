"""genart-points: an example genart kind in its own package. A Gaussian mixture learns a cloud of 2D points
(a spiral, rings, two moons, or your CSV file) by gradient descent, in genart's one training loop.

genart finds the kind through the entry point in pyproject.toml (`points = "genart_points:KIND"`). This module is
imported whenever genart lists its kinds (every `genart` command), so it imports only the config; the parts are
"module:attribute" strings that genart imports when it needs them.
"""

from genart.core.registry import KindSpec
from genart_points.config import DATA_HELP, PointsConfig

KIND = KindSpec(
    name="points",
    config=PointsConfig,
    summary="Train a Gaussian mixture on 2D points (builtin:spiral, builtin:rings, builtin:moons or a CSV file).",
    capabilities=frozenset(),  # none of genart's: the kind brings its own generate and evaluate parts
    data="genart_points.data:load_points",
    resolve="genart_points.data:resolve_points",
    trainable="genart_points.model:PointsTrainable",
    sampler="genart_points.model:PointsSampler",
    generate="genart_points.generate:generate_points",
    evaluate="genart_points.evaluate:evaluate_points",
    demo=(),  # no section in `genart demo`
    data_help=DATA_HELP,
    # the smallest settings that exercise every part, for tests (tests/kinds/test_contract.py)
    extras={"tiny": {"config": {"data": "builtin:spiral", "points": 300, "components": 4, "batch": 32},
                     "generate": {"out": "points.csv", "n": 50}, "evaluate": {"n": 60}}},
)

__all__ = ["KIND", "PointsConfig"]
