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
    # the smallest settings that exercise every part, for tests (tests/kinds/test_contract.py): "files" are written
    # into a scratch folder first, which "{dir}" names
    extras={"tiny": {"config": {"data": "{dir}/sonnet.txt", "layers": 1, "hidden": 32, "embed": 16, "batch": 8,
                                "bptt": 32, "warmup": 2},
                     "files": {"sonnet.txt": 8 * (
                         "Shall I compare thee to a summer's day?\nThou art more lovely and more temperate:\n"
                         "Rough winds do shake the darling buds of May,\nAnd summer's lease hath all too short a date;\n"
                         "Sometime too hot the eye of heaven shines,\nAnd often is his gold complexion dimm'd;\n"
                         "And every fair from fair sometime declines,\nBy chance or nature's changing course untrimm'd;\n"
                         "But thy eternal summer shall not fade,\nNor lose possession of that fair thou ow'st;\n"
                         "Nor shall death brag thou wander'st in his shade,\nWhen in eternal lines to time thou grow'st:\n"
                         "So long as men can breathe or eyes can see,\nSo long lives this, and this gives life to thee.\n\n")},
                     "generate": {"out": "sample.txt", "n": 2, "length": 40}, "evaluate": {"n": 4, "length": 40}}},
)
