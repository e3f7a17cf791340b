"""The VAE and text-LSTM training cases of benchmarks/run.py, beside its GAN cases (benchmarks/gan_cases.py): for
each, an "original" loop (the networks as first written: eager fp32, a DataLoader, probabilities then a plain loss), a
"clean" one (the same networks eager fp32 on tensors already in memory, losses on logits), genart's own train_step in
fp32 and bf16, and variants with one of genart's choices flipped.

The text figures are for the issue's network: a 2 x 512 LSTM, embedding 64, sequences of 128 characters, batch 32
(4,096 characters per step); genart's default dropout (0.2) is on, and a variant shows it off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import bench_vae
import torch
import torch.nn.functional as F
from bench_text import reference_training
from bench_vae import clean_step as vae_clean_step
from bench_vae import config as vae_config
from bench_vae import random_data as vae_random_data
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from genart.kinds.text.config import TextConfig
from genart.kinds.text.model import TextTrainable
from genart.kinds.vae.model import VAETrainable, build_networks
from genart.models.recurrent import RecurrentLM

CPU = torch.device("cpu")
TEXT = {"hidden": 512, "layers": 2, "embed": 64, "batch": 32, "bptt": 128}
TEXT_CHARS = 2_000_000  # characters of generated text to train on (speed does not depend on what they say)
SOUND_TEXT = {"batch": 32, "bptt": 64}  # the text soundness run's options (the rest: `genart train text`'s defaults)
PRECISIONS = ("fp32", "bf16")
Row = tuple[str, str, Callable[[], object], str]  # (loop, precision, step, note)


def _step_counter(fn: Callable[[int], Any]) -> Callable[[], Any]:
    i = [0]

    def step() -> Any:
        i[0] += 1
        return fn(i[0])

    return step


# --- VAE, 32x32x3, batch 64 -------------------------------------------------------------------------------

def vae_original_step(data: Any, batch: int | None = None) -> Callable[[], object]:
    """The VAE as first written: sigmoid on the decoder, binary cross-entropy on [0, 1] targets, a DataLoader."""
    batch = batch or bench_vae.BATCH
    torch.manual_seed(0)
    cfg = vae_config(3)
    enc, dec = build_networks(cfg, 3)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=cfg.lr)
    loader = DataLoader(TensorDataset(data.images.float() / 255.0), batch_size=batch, shuffle=True, drop_last=True)
    it = iter(loader)

    def step() -> object:
        nonlocal it
        try:
            (x01,) = next(it)
        except StopIteration:
            it = iter(loader)
            (x01,) = next(it)
        mu, logvar = enc(x01 * 2 - 1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        rec = F.binary_cross_entropy(torch.sigmoid(dec(z)), x01, reduction="sum") / batch
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum() / batch
        loss = rec + kl
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def vae_genart(data: Any, precision: str, foreach: bool = False) -> Callable[[], object]:
    torch.manual_seed(0)
    model = VAETrainable(vae_config(3), data, CPU, precision, torch.Generator().manual_seed(1))
    if foreach:
        model.opt = torch.optim.Adam([*model.enc.parameters(), *model.dec.parameters()], lr=model.cfg.lr, foreach=True)
    return _step_counter(model.train_step)


def vae_steps() -> list[Row]:
    """(loop, precision, step, note) for the VAE at 32x32, 3 channels (gaussian likelihood), batch 64."""
    data = vae_random_data(3)
    rows = [("original", "fp32", vae_original_step(data), "sigmoid + BCE, DataLoader"),
            ("clean", "fp32", vae_clean_step(3, data), "logits / closed-form gaussian, in-memory tensor")]
    for prec in ("fp32", "bf16"):
        rows.append(("genart", prec, vae_genart(data, prec), "gaussian, calibrated scale"))
    for prec in ("fp32", "bf16"):
        rows.append(("variant: foreach Adam", prec, vae_genart(data, prec, foreach=True), ""))
    return rows


# --- text: a 2 x 512 char LSTM --------------------------------------------------------------------------

def text_data(tmp: Any) -> Any:
    """A generated corpus (65 symbols, like tiny-shakespeare's) through genart's own text loader."""
    from genart.core.registry import get_kind

    g = torch.Generator().manual_seed(0)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?'-\n&$3"
    ids = torch.randint(len(alphabet), (TEXT_CHARS,), generator=g).tolist()
    path = tmp / "corpus.txt"
    path.write_text("".join(alphabet[i] for i in ids))
    cfg = text_config(str(path))
    return cfg, get_kind("text").load_data(cfg, {})


def text_config(path: str, **over: Any) -> TextConfig:
    cfg = TextConfig(data=path, cell="lstm", **{**TEXT, **over})
    cfg.validate()
    return cfg


def text_flops_per_step(cfg: TextConfig, vocab: int) -> float:
    """Forward and backward (3x forward) matrix FLOPs of one step; FlopCounterMode cannot see oneDNN's LSTM."""
    h, e = cfg.hidden, cfg.embed
    per_char = 2 * 4 * h * (e + h) + (cfg.layers - 1) * 2 * 4 * h * (2 * h) + 2 * h * vocab
    return 3.0 * per_char * cfg.batch * cfg.bptt


def text_original_step(cfg: TextConfig, ids: torch.Tensor, vocab: int) -> Callable[[], object]:
    """The char-rnn loop as first written: windows through a DataLoader, log_softmax then NLLLoss, eager fp32."""
    torch.manual_seed(0)
    emb, rnn, head = (nn.Embedding(vocab, cfg.embed), nn.LSTM(cfg.embed, cfg.hidden, cfg.layers, batch_first=True),
                      nn.Linear(cfg.hidden, vocab))
    params = [*emb.parameters(), *rnn.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=2e-3)
    T = cfg.bptt
    n = (len(ids) - 1) // T
    x_all = ids[:n * T].long().view(n, T)
    y_all = ids[1:n * T + 1].long().view(n, T)
    loader = DataLoader(TensorDataset(x_all, y_all), batch_size=cfg.batch, shuffle=True, drop_last=True)
    it = iter(loader)
    nll = nn.NLLLoss()

    def step() -> object:
        nonlocal it
        try:
            x, y = next(it)
        except StopIteration:
            it = iter(loader)
            x, y = next(it)
        out, _ = rnn(emb(x))
        loss = nll(torch.log_softmax(head(out), -1).reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss

    return step


def text_genart(cfg: TextConfig, data: Any, precision: str, foreach: bool = False) -> Callable[[], object]:
    torch.manual_seed(0)
    model = TextTrainable(cfg, data, CPU, precision, torch.Generator().manual_seed(1))
    if foreach:
        from genart.models.sequence_training import param_groups

        model.opt = torch.optim.AdamW(param_groups(model.model, cfg.weight_decay), lr=cfg.lr, betas=(0.9, 0.99),
                                      eps=1e-6, foreach=True)
        model.params = [p for g in model.opt.param_groups for p in g["params"]]
    return _step_counter(model.train_step)


def text_steps(tmp: Any, precisions: tuple[str, ...] = PRECISIONS) -> tuple[list[Row], float]:
    """(loop, precision, step, note) for the 2 x 512 LSTM, and its FLOPs per step; the bf16 rows when `precisions`
    has bf16."""
    cfg, data = text_data(tmp)
    vocab = data.vocab.size
    ids = data.train_ids
    no_drop = text_config(cfg.data, dropout=0.0)
    rows = [("original", "fp32", text_original_step(cfg, ids, vocab), "log_softmax + NLLLoss, DataLoader"),
            ("clean", "fp32", reference_training(cfg, ids, vocab, "fp32"), "nn.LSTM, cross-entropy, in-memory ids")]
    for prec in precisions:
        rows.append(("genart", prec, text_genart(cfg, data, prec), "dropout 0.2 (the default)"))
    if "bf16" in precisions:
        rows.append(("clean", "bf16", reference_training(cfg, ids, vocab, "bf16"), "the clean loop under bf16 autocast"))
    for prec in precisions:
        rows.append(("variant: dropout 0", prec, text_genart(no_drop, data, prec), "like the reference loops"))
    if "bf16" in precisions:
        rows.append(("variant: foreach AdamW", "bf16", text_genart(cfg, data, "bf16", foreach=True), ""))
    return rows, text_flops_per_step(cfg, vocab)


def sampling_model(hidden: int) -> RecurrentLM:
    torch.manual_seed(0)
    return RecurrentLM(65, 64, hidden, 2, "lstm", 0.2).eval()


def text_soundness(steps: int, tail: int, seed: int = 0, precisions: tuple[str, ...] = PRECISIONS) -> dict[str, dict[str, float]]:
    """The default text model (`genart train text --data builtin:shakespeare`, dropout off so both runs see the
    same computation) trained `steps` steps in fp32 and in bf16 from the same seed on the same batches: mean
    training loss over the last `tail` steps and the validation loss at the end, in nats per character."""
    from genart.core.registry import get_kind

    cfg = TextConfig(data="builtin:shakespeare", dropout=0.0, steps=steps, val_split=0.02, **SOUND_TEXT)
    cfg.validate()
    data = get_kind("text").load_data(cfg, {})
    out = {}
    for prec in precisions:
        torch.manual_seed(seed)
        model = TextTrainable(cfg, data, CPU, prec, torch.Generator().manual_seed(seed + 1))
        losses = []
        for step in range(steps):
            losses.append(model.train_step(step)["loss"])
        out[prec] = {"train_loss": float(torch.stack(losses[-tail:]).mean()), **model.evaluate()}
    return out
