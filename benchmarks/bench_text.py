"""genart text benchmarks: training and sampling speed of the recurrent text model against plain nn.LSTM reference
loops, and the quality the default model reaches on tiny-shakespeare in a time budget.

    .venv/bin/python benchmarks/bench_text.py                            # speed, about 1 minute
    .venv/bin/python benchmarks/bench_text.py --shakespeare-minutes 10   # + train the default model 10 minutes
    .venv/bin/python benchmarks/bench_text.py --shakespeare-steps 3000   # + train it a fixed number of steps

Speed: training characters per second (fp32 and bf16 autocast, genart's TextTrainable against a plain loop written
here), and sampling characters per second at batch 1 and batch 32 (genart's sampler against a plain loop). Quality:
the default `genart train text` model on ../shared/data/tinyshakespeare.txt (1,115,394 characters, the last 10%
held out, as char-rnn and nanoGPT do); the validation curve goes to benchmarks/text-val-curve.png and .csv.
Results are printed and written to benchmarks/RESULTS-text.md, with the load average before and after: run it on a
quiet machine, since anything else using the CPU makes every figure lower and noisier.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from machine import cpu_model, load_average  # noqa: E402

from genart.core.device import cpu_has_bf16, set_threads  # noqa: E402
from genart.kinds.text.config import TextConfig  # noqa: E402
from genart.kinds.text.data import read_corpus, tokenise  # noqa: E402
from genart.kinds.text.model import TextTrainable  # noqa: E402
from genart.models.recurrent import RecurrentLM  # noqa: E402
from genart.models.sequence_sampling import sample_tokens  # noqa: E402

SHAKESPEARE = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"
CPU = torch.device("cpu")
REFERENCES = {"char 5-gram counting model": 1.76, "small GPT on a GPU (nanoGPT)": 1.47}  # nats per character


def corpus() -> tuple[str, str]:
    if SHAKESPEARE.exists():
        return SHAKESPEARE.read_text(encoding="utf-8"), str(SHAKESPEARE)
    text, _ = read_corpus("builtin:shakespeare")
    return text[:1_115_394], "builtin:shakespeare (first 1,115,394 characters)"


def rate(step: Callable[[], object], chars: int, seconds: float, warmup: int = 2) -> float:
    """Characters per second of `step` (each handles `chars`), best of rounds filling `seconds`."""
    for _ in range(warmup):
        step()
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        step()
        best = max(best, chars / (time.perf_counter() - t))
    return best


# --- training speed ---------------------------------------------------------------------------------------------

def genart_training(cfg: TextConfig, data: object, precision: str) -> Callable[[], object]:
    trainable = TextTrainable(cfg, data, CPU, precision, torch.Generator().manual_seed(1))
    counter = iter(range(10**9))

    def step() -> object:
        return trainable.train_step(next(counter))["loss"].item()

    return step


def reference_training(cfg: TextConfig, ids: torch.Tensor, vocab: int, precision: str) -> Callable[[], object]:
    """The plain loop a user would write: embedding -> nn.LSTM -> linear, random windows, AdamW, clipping."""
    torch.manual_seed(0)
    emb, rnn, head = nn.Embedding(vocab, cfg.embed), nn.LSTM(cfg.embed, cfg.hidden, cfg.layers, batch_first=True), \
        nn.Linear(cfg.hidden, vocab)
    params = [*emb.parameters(), *rnn.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=cfg.lr)
    ids = ids.long()
    T, B = cfg.bptt, cfg.batch

    def step() -> object:
        starts = torch.randint(len(ids) - T - 1, (B,))
        x = torch.stack([ids[s:s + T] for s in starts])
        y = torch.stack([ids[s + 1:s + T + 1] for s in starts])
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
        with ctx:
            out, _ = rnn(emb(x))
            logits = head(out)
        loss = F.cross_entropy(logits.float().reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, cfg.clip)
        opt.step()
        return loss.item()

    return step


# --- sampling speed ---------------------------------------------------------------------------------------------

def genart_sampling(model: RecurrentLM, batch: int, length: int) -> Callable[[], object]:
    def step() -> object:
        return sample_tokens(model, [0], batch, length, list(range(batch)), [0.8], top_k=40)

    return step


def reference_sampling(model: RecurrentLM, batch: int, length: int) -> Callable[[], object]:
    """The plain loop: one nn.LSTM step per character, softmax, top-k, torch.multinomial."""
    emb, rnn, head = model.embed, model.rnn, model.head

    @torch.inference_mode()
    def step() -> object:
        x = torch.zeros(batch, 1, dtype=torch.long)
        state = None
        for _ in range(length):
            out, state = rnn(emb(x), state)
            logits = head(out[:, -1]) / 0.8
            kth = torch.topk(logits, 40, -1).values[:, -1:]
            probs = torch.softmax(logits.masked_fill(logits < kth, float("-inf")), -1)
            x = torch.multinomial(probs, 1)
        return x

    return step


def speed(args: argparse.Namespace, text: str) -> list[str]:
    cfg = TextConfig(data="bench", steps=1)
    cfg.validate()
    data = tokenise(text, {"source": "bench"}, "char", 0, 0.1)
    vocab = data.vocab.size
    lines = ["## Speed", "", f"Default network: {cfg.layers} x {cfg.hidden} {cfg.cell.upper()}, embedding {cfg.embed}, "
             f"{vocab} characters; training batch {cfg.batch} lanes x {cfg.bptt} characters.", "",
             "| what | genart | plain reference loop | genart / reference |", "| --- | ---: | ---: | ---: |"]
    precisions = ["fp32", "bf16"] if cpu_has_bf16() else ["fp32"]
    chars = cfg.batch * cfg.bptt
    for p in precisions:
        g = rate(genart_training(cfg, data, p), chars, args.seconds)
        r = rate(reference_training(cfg, data.train_ids, vocab, p), chars, args.seconds)
        lines.append(f"| training, {p}, characters/s | {g:,.0f} | {r:,.0f} | {g / r:.2f} |")
        print(lines[-1], flush=True)
    torch.manual_seed(0)
    model = RecurrentLM(vocab, cfg.embed, cfg.hidden, cfg.layers, cfg.cell).eval()
    for batch in (1, 32):
        length = 200
        g = rate(genart_sampling(model, batch, length), batch * length, args.seconds, warmup=1)
        r = rate(reference_sampling(model, batch, length), batch * length, args.seconds, warmup=1)
        lines.append(f"| sampling, batch {batch}, characters/s | {g:,.0f} | {r:,.0f} | {g / r:.2f} |")
        print(lines[-1], flush=True)
    lines += ["", "genart's training step includes its data cursor, hidden-state carry, learning-rate schedule and "
              "gradient clipping; the reference draws random windows and starts each from a zero state. genart's "
              "sampler adds top-k, top-p and temperature schedules and one random generator per row (so a seed always "
              "gives the same text).", ""]
    return lines


# --- quality on tiny-shakespeare -----------------------------------------------------------------------------------

def shakespeare(args: argparse.Namespace) -> list[str]:
    from rich.console import Console

    from genart.core.checkpoints import checkpoint_info
    from genart.train import train

    if not SHAKESPEARE.exists():
        return ["## Quality", "", f"skipped: {SHAKESPEARE} is missing", ""]
    out = Path(args.run_dir)
    budget = {"minutes": args.shakespeare_minutes} if args.shakespeare_minutes else {"steps": args.shakespeare_steps}
    cfg = TextConfig(data=str(SHAKESPEARE), threads=args.threads, **budget, **json.loads(args.options))
    t0, c0 = time.perf_counter(), time.process_time()
    run = train(cfg, out, fresh=True, console=Console(file=io.StringIO()) if args.quiet else Console(stderr=True))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    info = checkpoint_info(run.last_checkpoint)
    rows = run.metrics()
    evals = [(r["step"], r["eval_val_loss"]) for r in rows if "eval_val_loss" in r]
    last = next(r for r in reversed(rows) if "steps_per_s" in r and r["steps_per_s"] > 0)
    best = info["best"]
    chars = info["step"] * cfg.batch * cfg.bptt
    _curve(evals, cfg, Path(args.curve))
    verdict = "meets" if best["val_loss"] <= 1.55 else "misses"
    flag = f"--minutes {args.shakespeare_minutes:g}" if args.shakespeare_minutes else f"--steps {args.shakespeare_steps}"
    lines = ["## Quality: tiny-shakespeare", "",
             f"`genart train text --data tinyshakespeare.txt {flag}`"
             f" ({cfg.layers} x {cfg.hidden} {cfg.cell.upper()}, {cfg.threads or 'all'} threads, {info['precision']}): "
             f"{info['step']} steps, {chars / 1e6:.1f}M training characters in {wall / 60:.1f} min "
             f"({chars / wall:,.0f} characters/s; {cpu / wall:.2f} CPU-seconds per second).", "",
             f"Best validation loss **{best['val_loss']:.4f} nats per character** ({best['val_loss'] / math.log(2):.3f} bits) "
             f"at step {best['step']}: {verdict} the 1.55 goal. For reference: "
             + ", ".join(f"{k} {v}" for k, v in REFERENCES.items()) + ".", "",
             "| step | validation loss (nats/char) |", "| ---: | ---: |"] + [f"| {s} | {v:.4f} |" for s, v in evals] + [
             "", f"Last logged training loss {last.get('loss')}; curve: {Path(args.curve).name}.", ""]
    for line in lines:
        print(line, flush=True)
    return lines


def _curve(evals: list[tuple[int, float]], cfg: TextConfig, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.with_suffix(".csv").write_text("step,val_loss\n" + "".join(f"{s},{v}\n" for s, v in evals))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([s for s, _ in evals], [v for _, v in evals], marker="o", ms=3, label="genart text (default)")
    for (name, v), style in zip(REFERENCES.items(), (":", "--"), strict=True):
        ax.axhline(v, ls=style, color="grey", lw=1)
        ax.text(0, v, f" {name} {v}", fontsize=7, va="bottom")
    ax.axhline(1.55, color="tab:red", lw=1, ls="-.")
    ax.text(0, 1.55, " goal 1.55", fontsize=7, va="bottom", color="tab:red")
    ax.set_xlabel("step")
    ax.set_ylabel("validation loss (nats/char)")
    ax.set_ylim(1.3, 2.6)
    ax.set_title(f"tiny-shakespeare, {cfg.layers}x{cfg.hidden} {cfg.cell.upper()}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    ap.add_argument("--seconds", type=float, default=6.0, help="time per speed measurement")
    ap.add_argument("--no-speed", action="store_true", help="skip the speed measurements")
    ap.add_argument("--shakespeare-minutes", type=float, default=0.0, help="train the default model N minutes on tinyshakespeare")
    ap.add_argument("--shakespeare-steps", type=int, default=0, help="... or this many steps")
    ap.add_argument("--options", default="{}", help='JSON of TextConfig options to change, e.g. {"hidden": 384}')
    ap.add_argument("--run-dir", default="/tmp/genart-bench-text", help="where the tiny-shakespeare run goes")
    ap.add_argument("--curve", default=str(ROOT / "benchmarks" / "text-val-curve.png"), help="validation curve (PNG; CSV beside)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS-text.md"), help="markdown file to write")
    ap.add_argument("--quiet", action="store_true", help="no progress output while training")
    args = ap.parse_args()
    threads = set_threads(args.threads)
    args.threads = threads
    before = load_average()
    text, source = corpus()
    lines = ["# genart text benchmarks", "",
             f"CPU: {cpu_model()}, {os.cpu_count()} cores, {threads} torch threads, torch {torch.__version__}, "
             f"bf16 instructions: {cpu_has_bf16()}. Corpus: {source}.", f"Load average before: {before}.", ""]
    print("\n".join(lines), flush=True)
    if not args.no_speed:
        lines += speed(args, text)
    if args.shakespeare_minutes or args.shakespeare_steps:
        lines += shakespeare(args)
    lines.append(f"Load average after: {load_average()}.")
    print(lines[-1])
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
