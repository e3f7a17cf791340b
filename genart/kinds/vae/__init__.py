"""The image VAE: an encoder and a decoder around a latent space; images in, codes out, and back."""

from genart.core.registry import ENCODE, IMAGES, LATENT, DemoSection, KindSpec
from genart.data.image_config import IMAGE_DATA_HELP
from genart.kinds.vae.config import VAEConfig

KIND = KindSpec(
    name="vae",
    config=VAEConfig,
    summary="Train an image VAE (encoder, decoder, latent space) on a folder of images or built-in data.",
    capabilities=frozenset({IMAGES, LATENT, ENCODE}),
    data="genart.data.image_data:load_image_data",
    resolve="genart.data.image_data:image_resolve",
    trainable="genart.kinds.vae.model:VAETrainable",
    sampler="genart.kinds.vae.model:VAESampler",
    evaluate="genart.kinds.vae.evaluate:evaluate_vae",
    demo=(
        DemoSection("vae-digits", "VAE: handwritten digits", "genart.kinds.vae.demo:section", share=0.5, order=30,
                    options={"data": "builtin:digits", "size": 32,
                             "about": "A convolutional VAE trained on the same digits, 5% of them held out."}),
    ),
    data_help=IMAGE_DATA_HELP,
    # the smallest settings that exercise every part, for tests (tests/kinds/test_contract.py)
    extras={"tiny": {"config": {"data": "builtin:digits", "size": 8, "width": 8, "latent": 8, "batch": 16},
                     "generate": {"out": "grid.png", "n": 4}, "evaluate": {"n": 20, "feature_steps": 20}}},
)
