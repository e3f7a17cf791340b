"""`genart evaluate` for text runs: the held-out loss, and the samples' diversity and copying (genart.metrics.text)."""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

from genart.core.errors import GenartError
from genart.io.text import write_text_file
from genart.metrics import EvalContext, Figure, KindReport, data_facts
from genart.metrics.text import (
    DEFAULT_LENGTH,
    DEFAULT_N,
    SHOWN,
    Hashes,
    pieces,
    random_text,
    text_figures,
    unigram_nats,
    word_unit,
)
from genart.models.sequence_training import sequence_nll


def evaluate_text(ctx: EvalContext) -> KindReport:
    """Held-out loss, then distinct-n, n-gram novelty and the longest copied passage beside held-out and random text."""
    run, model, seed = ctx.run, ctx.model, ctx.seed
    n = DEFAULT_N if ctx.n is None else ctx.n
    length = DEFAULT_LENGTH if ctx.length is None else ctx.length
    if not 1 <= n <= 4096:
        raise GenartError(f"--n {n} is out of range for text", "use 1 to 4096 samples (100 is the default)")
    if not 20 <= length <= 100_000:
        raise GenartError(f"--length {length} is out of range", "use 20 to 100,000 characters (500 is the default)")
    data = ctx.training_data()
    vocab = data.vocab
    train = vocab.decode(data.train_ids.tolist())
    held_out = vocab.decode(data.val_ids.tolist())
    facts = data_facts(run, data.report, len(data))
    facts.update(training_characters=len(train), held_out_characters=len(held_out))
    sampler = model.sampler

    figures: list[Figure] = []
    if data.val_ids.numel() >= 2:
        ctx.console.print(f"scoring the held-out text ({len(held_out):,} characters) ...")
        total, count = sequence_nll(sampler.model, data.val_ids, sampler.device)
        chars = count if vocab.kind == "char" else max(1, len(vocab.decode(data.val_ids[1:].tolist())))
        loss, uni = total / chars, unigram_nats(train, held_out[1:])
        figures += [
            Figure("val_loss", "validation loss (nats/char)", loss, None, uni, "lower",
                   f"{loss / math.log(2):.3f} bits per character; ceiling: the unigram model"),
            Figure("perplexity", "perplexity (per char)", math.exp(loss), None, math.exp(uni), "lower", "exp(loss)"),
        ]

    chars_per_token = float(data.report.get("chars_per_token", 1.0)) if vocab.kind != "char" else 1.0
    tokens = max(1, round(length / max(1.0, chars_per_token)))
    ctx.console.print(f"generating {n} samples of {length} characters ...")
    samples = model.generate(n=n, length=tokens, temperature=1.0, seed=seed)
    samples = [t[:length] for t in samples]
    typical = int(np.median([len(t) for t in samples]))
    held = pieces(held_out, typical, n)
    noise = random_text(train, n, typical, seed + 1)
    unit = word_unit(train)
    ctx.console.print(f"comparing them with the training text ({len(train):,} characters) ...")
    reference = Hashes(train)
    more, extra = text_figures(samples, held, noise, train, reference, unit)
    figures += more

    prov = model.provenance(seeds=f"{seed}-{seed + n - 1}", length=tokens, temperature=1.0, purpose="genart evaluate")
    write_text_file(ctx.out / "samples.txt", samples, list(range(seed, seed + n)), prov)
    copy = extra["longest_copy"]
    details = {
        "samples": f"{n} samples of {length} characters (seeds {seed}-{seed + n - 1}, temperature 1, no prime)",
        "held_out": f"{len(held)} pieces of {typical} characters of the held-out text" if held else "no held-out text",
        "ceiling": f"{n} texts of {typical} random characters with the training text's frequencies",
        "distinct_unit": unit,
        "longest_copy": copy,
    }
    page = _text_page(samples, held, noise, copy, seed)
    columns = {"model": "generated", "floor": "held-out text", "ceiling": "random characters"}
    return KindReport(columns=columns, figures=figures, details=details, html=page, data=facts,
                      pictures=["eval/samples.txt"])


def _marked(text: str, copy: dict[str, Any] | None, k: int) -> str:
    """A sample as HTML, with its longest copied substring marked when it is in this sample."""
    if copy and copy.get("sample") == k and copy.get("length"):
        a, b = copy["start"], copy["start"] + copy["length"]
        return html.escape(text[:a]) + f"<mark>{html.escape(text[a:b])}</mark>" + html.escape(text[b:])
    return html.escape(text)


def _text_page(samples: list[str], held: list[str], noise: list[str], copies: dict[str, Any], seed: int) -> str:
    shown = list(range(min(SHOWN, len(samples))))
    model_copy = copies.get("model") or {}
    if model_copy.get("sample") is not None and model_copy["sample"] not in shown:
        shown[-1] = model_copy["sample"]
    parts = [f'<figure class="text"><pre>{_marked(samples[k], model_copy, k)}</pre>'
             f"<figcaption>generated, seed {seed + k}</figcaption></figure>" for k in shown]
    if held:
        parts.append(f'<figure class="text"><pre>{_marked(held[0], copies.get("floor"), 0)}</pre>'
                     "<figcaption>held-out text (the floor)</figcaption></figure>")
    if noise:
        parts.append(f'<figure class="text"><pre>{html.escape(noise[0][:300])}</pre>'
                     "<figcaption>random characters (the ceiling)</figcaption></figure>")
    note = ("<p>Marked: the longest substring copied from the training text"
            f" ({model_copy.get('length', 0)} characters in the samples).</p>")
    return note + '<div class="row">' + "".join(parts) + "</div>"
