"""Denoising diffusion (rectified flow) on a compact UNet: the quality frontier, trained on a CPU."""

from genart.core.registry import CLASSES, DENOISE, IMAGES, LATENT, DemoSection, KindSpec
from genart.data.image_config import IMAGE_DATA_HELP
from genart.kinds.diffusion.config import DiffusionConfig

KIND = KindSpec(
    name="diffusion",
    config=DiffusionConfig,
    summary="Train a diffusion model (rectified flow, UNet) on a folder of images or built-in data.",
    capabilities=frozenset({IMAGES, LATENT, CLASSES, DENOISE}),
    data="genart.data.image_data:load_image_data",
    resolve="genart.data.image_data:image_resolve",
    trainable="genart.kinds.diffusion.model:DiffusionTrainable",
    sampler="genart.kinds.diffusion.model:DiffusionSampler",
    demo=(
        DemoSection("diffusion-abstract", "Diffusion: abstract compositions", "genart.kinds.diffusion.demo:section",
                    share=0.8, order=10, options={"data": "builtin:abstract", "size": 32, "about": (
                        "A rectified-flow diffusion model on a compact UNet, trained on the colourful compositions "
                        "genart paints itself; inpainting and image-to-image come with it.")}),
    ),
    data_help=IMAGE_DATA_HELP,
    # the smallest settings that exercise every part, for tests (tests/kinds/test_contract.py)
    extras={"tiny": {"config": {"data": "builtin:digits", "size": 16, "width": 8, "batch": 16, "sample_steps": 2},
                     "generate": {"out": "grid.png", "n": 4}, "evaluate": {"n": 20, "feature_steps": 20}}},
)
