"""The text kind's model: SequenceTrainable on a tokenised corpus, and the sampler that writes text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from genart.core.errors import ConfigError, RunError
from genart.core.files import write_text
from genart.kinds.text.config import source_run
from genart.kinds.text.vocab import missing_message, normalise, vocab_from_json
from genart.models import infill as fim
from genart.models.recurrent import RecurrentLM, build_model
from genart.models.sequence_sampling import check_sampling, parse_temperature, sample_tokens
from genart.models.sequence_training import SequenceTrainable

PREVIEW_CHARS = 400


class TextTrainable(SequenceTrainable):
    """The `text` kind: SequenceTrainable on a tokenised corpus; previews are short samples, and a run made
    with --init-from starts from another run's weights (new symbols get fresh embeddings)."""

    def __init__(self, cfg: Any, data: Any, device: torch.device, precision: str, generator: torch.Generator) -> None:
        super().__init__(cfg, data, device, precision, generator)
        self.vocab = data.vocab
        self.chars_per_token = float(data.report.get("chars_per_token", 1.0))
        self._val_chars: int | None = None
        if cfg.init_from:
            init_weights_from(self.model, cfg.init_from, data.vocab)

    def evaluate(self) -> dict[str, float]:
        out = super().evaluate()
        if not out:
            return out
        if self.vocab.kind == "char":
            return {"val_loss": out["val_loss"], "val_bpc": out["val_bits"]}
        if self._val_chars is None:  # bits per character of the validation text, comparable across tokenizers
            self._val_chars = max(1, len(self.vocab.decode(self.val_ids[1:].tolist())))
        count = self.val_ids.numel() - 1
        return {"val_loss": out["val_loss"], "val_bits_per_token": out["val_bits"],
                "val_bpc": out["val_bits"] * count / self._val_chars}

    def preview(self, path_stem: Path) -> list[Path]:
        prime_ids = default_prime(self.vocab)
        length = max(1, int(PREVIEW_CHARS / max(1.0, self.chars_per_token)))
        markers = self.vocab.markers
        ids = sample_tokens(self.model, prime_ids, 1, length, [0], [0.8], banned=markers.ids if markers else ())
        text = self.vocab.decode(ids[0].tolist())
        path = Path(path_stem).with_suffix(".txt")
        write_text(path, text)
        return [path]


def default_prime(vocab: Any) -> list[int]:
    """What a sample starts from when no --prime is given: a line break (as if after a paragraph)."""
    ids = vocab.encode("\n") if not vocab.missing("\n") else []
    return ids or [0]


def init_weights_from(model: RecurrentLM, run_path: str, vocab: Any) -> None:
    """Copy another text run's weights into `model`; rows of symbols new to `vocab` keep their fresh values."""
    run = source_run(run_path)
    which = "best" if (run.checkpoints / "best.safetensors").exists() else "last"
    state, _, _ = run.load_checkpoint(which)
    weights = state["model"]["model"]
    old = vocab_from_json(run.resolved["vocab"])
    n_old = old.size - (fim.MARKERS if old.markers else 0)  # the old run's own ids (its markers follow them)
    if old.kind != vocab.kind or (vocab.kind == "char" and vocab.symbols[:n_old] != old.symbols):
        raise RunError(f"--init-from {run_path}: its vocabulary does not match this run's", "fine-tune with the same --tokens")
    own = model.state_dict()
    for name, t in weights.items():
        if name not in own:
            raise RunError(f"--init-from {run_path}: it has a different network ({name})",
                           "fine-tune with the same --cell, --layers, --hidden and --embed, or leave them out")
        if name in ("embed.weight", "head.weight", "head.bias"):
            if t.shape[1:] != own[name].shape[1:]:
                raise RunError(f"--init-from {run_path}: {name} is {tuple(t.shape)}, not {tuple(own[name].shape)}",
                               "leave out --embed/--hidden to use that run's sizes")
            own[name][:n_old] = t[:n_old]
            if name == "head.bias" and own[name].shape[0] > n_old:
                own[name][n_old:] = t[:n_old].min()  # new symbols start as rare as the rarest known one
            if old.markers and vocab.markers:  # both train for infilling: the markers keep what they learnt
                own[name][list(vocab.markers.ids)] = t[list(old.markers.ids)]
        elif own[name].shape != t.shape:
            raise RunError(f"--init-from {run_path}: {name} is {tuple(t.shape)}, not {tuple(own[name].shape)}",
                           "leave out --cell/--layers/--hidden/--embed to use that run's network")
        else:
            own[name].copy_(t)
    model.load_state_dict(own)


class TextSampler:
    """A trained text model: `generate(n, prime, length, temperature, top_k, top_p, seed)` -> list of strings."""

    def __init__(self, cfg: Any, resolved: dict[str, Any], state: dict[str, Any], device: torch.device) -> None:
        self.cfg = cfg
        self.vocab = vocab_from_json(resolved["vocab"])
        self.model = build_model(cfg, self.vocab.size, int(resolved.get("embed", cfg.embed))).to(device)
        self.model.load_state_dict(state["model"])
        self.model.eval().requires_grad_(False)
        self.device = device
        self.tokens = self.vocab.kind

    def encode_prime(self, prime: str | None) -> tuple[str, list[int]]:
        text = normalise(prime or "")
        if not text:
            return "", default_prime(self.vocab)
        lacking = self.vocab.missing(text)
        if lacking:
            raise ConfigError(f"--prime has {len(lacking)} character(s) this model's vocabulary lacks: "
                              f"{missing_message(lacking)}", "leave them out; the run's characters are in its config.json")
        return text, self.vocab.encode(text)

    def generate(self, n: int = 1, prime: str | None = None, length: int = 500,
                 temperature: float | str | Sequence[float] | None = 1.0, top_k: int | None = None,
                 top_p: float | None = None, seed: int = 0, seeds: Sequence[int] | None = None,
                 on_text: Callable[[int, str], None] | None = None) -> list[str]:
        """`n` texts, each starting with `prime`, then `length` generated tokens (characters for char runs).
        Text k uses seed `seed + k` (or seeds[k]); the same seed and settings give the same text.

        `on_text(k, piece)` receives the new text of each row as it is generated (for streaming)."""
        seeds = list(seeds) if seeds is not None else list(range(seed, seed + n))
        n = len(seeds)
        check_sampling(n, length, top_k, top_p)
        temps = parse_temperature(temperature)
        text, ids = self.encode_prime(prime)
        decoders = [StreamDecoder(self.vocab) for _ in range(n)] if on_text else []

        def emit(i: int, col: torch.Tensor) -> None:
            for k, d in enumerate(decoders):
                piece = d.push(int(col[k]))
                if piece and on_text is not None:
                    on_text(k, piece)

        markers = self.vocab.markers
        out = sample_tokens(self.model, ids, n, length, seeds, temps, top_k, top_p, on_token=emit if on_text else None,
                            banned=markers.ids if markers else ())
        return [text + self.vocab.decode(row.tolist()) for row in out]

    def infill_ids(self, before: str, after: str) -> tuple[list[int], list[int], list[int]]:
        """What the network reads for a gap between `before` and `after`, as in training: the text before the last
        half window of `before` as plain context, then that half window (the prefix), then the suffix (the first
        infill.max_suffix tokens of `after`). Returns (context, prefix, suffix) ids."""
        half = max(1, fim.WINDOW_BPTT * self.cfg.bptt // 2)
        texts: list[str] = []
        for what, part in (("text before the gap", before), ("text after the gap", after)):
            part = normalise(part)
            lacking = self.vocab.missing(part)
            if lacking:
                raise ConfigError(f"the {what} has {len(lacking)} character(s) this model's vocabulary lacks: "
                                  f"{missing_message(lacking)}", "leave them out; the run's characters are in its config.json")
            texts.append(part)
        head = self.vocab.encode(texts[0])
        tail = self.vocab.encode(texts[1])
        context = head[:-half] if len(head) > half else []
        return (context or default_prime(self.vocab)), head[-half:], tail[:fim.max_suffix(self.cfg.bptt)]

    def infill(self, before: str, after: str, n: int = 1, length: int | None = None,
               temperature: float | str | Sequence[float] | None = 0.8, top_k: int | None = None,
               top_p: float | None = None, seed: int = 0, seeds: Sequence[int] | None = None) -> list[str]:
        """`n` texts `before` + a generated middle + `after`: the middle is sampled after PRE before SUF after MID
        until the model writes EOM, or `length` tokens (default: a training window, 4 x --bptt). Text k uses seed
        `seed + k` (or seeds[k]). A run trained with --fim 0 cannot fill gaps (a ConfigError says so)."""
        markers = fim.require(self.vocab.markers)
        seeds = list(seeds) if seeds is not None else list(range(seed, seed + n))
        length = fim.WINDOW_BPTT * self.cfg.bptt if length is None else length
        temps = parse_temperature(temperature)
        context, prefix, suffix = self.infill_ids(before, after)
        rows = fim.infill(self.model, prefix, suffix, markers, seeds, length, temps, top_k, top_p, start=context)
        before, after = normalise(before), normalise(after)
        return [before + self.vocab.decode(row) + after for row in rows]


class StreamDecoder:
    """Turns ids into text as they come; BPE pieces that end inside a UTF-8 character wait for the rest."""

    def __init__(self, vocab: Any) -> None:
        self.vocab = vocab
        self.ids: list[int] = []
        self.done = 0  # characters already emitted

    def push(self, token: int) -> str:
        if self.vocab.kind == "char":
            return str(self.vocab.symbols[token]) if token < len(self.vocab.symbols) else ""
        self.ids.append(token)
        text = self.vocab.decode(self.ids)
        if text.endswith("\ufffd"):
            return ""
        piece, self.done = text[self.done:], len(text)
        if len(self.ids) > 64:  # keep the work per token constant: restart from a clean boundary
            self.ids, self.done = [], 0
        return piece
