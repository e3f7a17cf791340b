"""genart: generative art with deep learning, on your own data, on a laptop CPU or a GPU.

    >>> import genart
    >>> model = genart.load("runs/digits")
    >>> images = model.generate(16, seed=0)   # a list of PIL images
"""

from __future__ import annotations

from genart.core.errors import GenartError
from genart.core.version import __version__


def load(run: str, checkpoint: str = "last", device: str = "auto"):  # noqa: ANN201
    """Load a trained run for generation. See genart.api.Model."""
    from genart.api import Model

    return Model.load(run, checkpoint=checkpoint, device=device)


__all__ = ["__version__", "load", "GenartError"]
