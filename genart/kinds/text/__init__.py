"""Text: a recurrent network over characters or BPE tokens, trained on the user's text or builtin:shakespeare."""

from genart.core.registry import SEQUENCE, TEXT, DemoSection, KindSpec
from genart.kinds.text.config import TextConfig

KIND = KindSpec(
    name="text",
    config=TextConfig,
    summary="Train a recurrent text model (LSTM or GRU over characters or BPE tokens) on your text or builtin:shakespeare.",
    capabilities=frozenset({SEQUENCE, TEXT}),
    data="genart.kinds.text.data:load_text",
    resolve="genart.kinds.text.data:text_resolve",
    trainable="genart.kinds.text.model:TextTrainable",
    sampler="genart.kinds.text.model:TextSampler",
    generate="genart.kinds.text.generate:generate_text",
    evaluate="genart.kinds.text.evaluate:evaluate_text",
    demo=(
        DemoSection("text-shakespeare", "Text: Shakespeare", "genart.kinds.text.demo:section", share=0.9, order=40,
                    options={"data": "builtin:shakespeare",
                             "about": "A recurrent network trained on 38 plays of Shakespeare (public domain), which ship "
                                      "inside genart"}),
    ),
    data_help="A text file, a folder (its .txt, .md files) or builtin:shakespeare.",
)
