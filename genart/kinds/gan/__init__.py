"""The image GAN: the original MLP design and a DCGAN, class-conditional when the data has labels."""

from genart.core.registry import CLASSES, IMAGES, LATENT, DemoSection, KindSpec
from genart.data.image_config import IMAGE_DATA_HELP
from genart.kinds.gan.config import GANConfig

KIND = KindSpec(
    name="gan",
    config=GANConfig,
    summary="Train an image GAN on a folder of images or built-in data.",
    capabilities=frozenset({IMAGES, LATENT, CLASSES}),
    data="genart.data.image_data:load_image_data",
    resolve="genart.data.image_data:image_resolve",
    trainable="genart.kinds.gan.model:GANTrainable",
    sampler="genart.kinds.gan.model:GANSampler",
    demo=(
        DemoSection("gan-digits", "GAN: handwritten digits", "genart.kinds.gan.demo:section", share=1.0, order=20,
                    options={"data": "builtin:digits", "size": 32, "upsample": "transposed", "loss": "bce",
                             "about": "A class-conditional DCGAN trained on scikit-learn's 1,797 handwritten digits."}),
    ),
    data_help=IMAGE_DATA_HELP,
    # the smallest settings that exercise every part, for tests (tests/kinds/test_contract.py)
    extras={"tiny": {"config": {"data": "builtin:digits", "size": 8, "width": 8, "batch": 16},
                     "generate": {"out": "grid.png", "n": 4}, "evaluate": {"n": 20, "feature_steps": 20}}},
)
