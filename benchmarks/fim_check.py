"""Fill-in-the-middle (--fim) for the recurrent kinds: does continuation suffer, and do infilled gaps join their context?

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/fim_check.py --steps 600 --out /tmp/fim-check

For text (a chunk of builtin:shakespeare) and music (builtin:bach), two runs with the same options and step budget,
--fim 0 and --fim FIM, train side by side (one thread each). Then, on held-out data:
- the held-out continuation loss of each run (what "continuation quality must not drop" compares);
- the join: the model's own loss (nats per token) on the first tokens after a gap, given what precedes it, when the
  gap was infilled (the FIM run) and when the prefix was simply continued for as long as the gap (the FIM run and the
  --fim 0 run: the continuation-only baseline), beside the loss given the true middle;
- music: pitch-class entropy and scale consistency of the infilled bars against the training data's range.
Figures go to stdout and to benchmarks/RESULTS-fim.md.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
TEXT_CHARS = 1_000_000  # the chunk of Shakespeare trained on (its last 10% held out)
GAPS = 24  # gaps per measurement
JOIN = 24  # tokens after the gap scored


def train_one(kind: str, fim: float, out: Path, steps: int, data: str, size: dict[str, int]) -> None:
    """One run (in its own process, one thread)."""
    from rich.console import Console

    from genart.train import train

    torch.set_num_threads(1)
    common = dict(steps=steps, sample_every=steps, log_every=50, device="cpu", threads=1, precision="fp32", seed=0, fim=fim,
                  **size)
    if kind == "text":
        from genart.kinds.text.config import TextConfig

        cfg: Any = TextConfig(data=data, **common)
    else:
        from genart.kinds.music.config import MusicConfig

        cfg = MusicConfig(data="builtin:bach", max_pieces=60, **common)
    train(cfg, out, console=Console(file=io.StringIO()), fresh=True)


@torch.inference_mode()
def nll(model: Any, context: list[int], target: list[int]) -> float:
    """Mean negative log-likelihood (nats per token) of `target` after `context`, as plain continuation."""
    ids = torch.tensor([context + target])
    logits, _ = model(ids[:, :-1])
    logp = torch.log_softmax(logits[0, len(context) - 1:].float(), -1)
    return float(-logp.gather(1, torch.tensor(target).unsqueeze(1)).mean())


def val_loss(run: Path) -> float:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [r["eval_val_loss"] for r in rows if "eval_val_loss" in r][-1]


def mean(xs: list[float]) -> float:
    return sum(xs) / max(1, len(xs))


def text_measure(runs: dict[float, Path], fim: float) -> dict[str, Any]:
    import genart
    from genart.kinds.text.data import load_text
    from genart.kinds.text.model import default_prime

    m_fim, m_plain = genart.load(str(runs[fim])), genart.load(str(runs[0.0]))
    data = load_text(m_fim.run.config, m_fim.run.resolved)
    val = m_fim.sampler.vocab.decode(data.val_ids.tolist())
    before_n, gap_n, after_n = 300, 40, 200
    starts = [int(i * (len(val) - 600) / GAPS) for i in range(GAPS)]
    out: dict[str, list[float]] = {k: [] for k in ("infill", "fim_continue", "plain_continue", "true_fim", "true_plain",
                                                    "middle_chars")}
    for k, s in enumerate(starts):
        before, true_mid = val[s:s + before_n], val[s + before_n:s + before_n + gap_n]
        after = val[s + before_n + gap_n:s + before_n + gap_n + after_n]
        for name, model in (("fim", m_fim), ("plain", m_plain)):
            v = model.sampler.vocab
            start = default_prime(v)
            target = v.encode(after)[:JOIN]
            if name == "fim":
                text = model.sampler.infill(before, after, seeds=[k], temperature=0.8)[0]
                middle = text[len(before):len(text) - len(after)]
                out["middle_chars"].append(len(middle))
                out["infill"].append(nll(model.sampler.model, start + v.encode(before + middle), target))
            cont = model.sampler.generate(prime=before, length=gap_n, seeds=[k], temperature=0.8)[0][len(before):]
            out[f"{name}_continue"].append(nll(model.sampler.model, start + v.encode(before + cont), target))
            out[f"true_{name}"].append(nll(model.sampler.model, start + v.encode(before + true_mid), target))
    return {"val_loss": {"fim": val_loss(runs[fim]), "plain": val_loss(runs[0.0])},
            **{k: round(mean(v), 4) for k, v in out.items()}}


def music_measure(runs: dict[float, Path], fim: float, tmp: Path) -> dict[str, Any]:
    import genart
    from genart.kinds.music.data import load_music
    from genart.kinds.music.model import window
    from genart.metrics.music import statistics
    from genart.models.sequence_sampling import sample_tokens

    m_fim, m_plain = genart.load(str(runs[fim])), genart.load(str(runs[0.0]))
    data = load_music(m_fim.run.config, m_fim.run.resolved)
    ref = m_fim.sampler.data_statistics
    first, last = 5, 8
    out: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        out.setdefault(key, []).append(value)

    pieces = 0
    for p, score in enumerate(data.val_pieces):
        path = tmp / f"val-{p}.mid"
        score.dump_midi(str(path))
        for name, model in (("fim", m_fim), ("plain", m_plain)):
            smp = model.sampler
            bar = smp.vocab.bar
            tokens = smp.primer_ids(path)[1:-1]
            at = [i for i, t in enumerate(tokens) if t == bar]
            if len(at) < last + 2:
                break
            prefix, suffix, true_mid = tokens[:at[first - 1]], tokens[at[last]:], tokens[at[first - 1]:at[last]]
            target = suffix[:JOIN]
            bos = [smp.vocab.bos]
            bt = smp.bar_ticks
            for seed in range(2):
                if name == "fim":
                    piece = smp.infill(path, first, last, seeds=[seed])[0]
                    middle = piece.ids[1 + len(prefix):len(piece.ids) - len(suffix)]
                    add("infill", nll(smp.model, bos + prefix + middle, target))
                    for key in ("pitch_class_entropy", "scale_consistency"):
                        add(f"infill_{key}", piece.stats[key])
                        lo, hi = ref[key]["mean"] - 2 * ref[key]["sd"], ref[key]["mean"] + 2 * ref[key]["sd"]
                        add(f"infill_{key}_in_range", float(lo <= piece.stats[key] <= hi))
                length = int(4 * (last - first + 1) * smp.tokens_per_bar)
                row = sample_tokens(smp.model, bos + prefix, 1, length, [seed], [0.9],
                                    banned=smp.vocab.markers.ids if smp.vocab.markers else ())[0].tolist()
                bars_at = [i for i, t in enumerate(row) if t == bar]
                cont = [bar] + (row[:bars_at[last - first]] if len(bars_at) > last - first else row)
                cont += [bar] * (last - first + 1 - sum(1 for t in cont if t == bar))
                add(f"{name}_continue", nll(smp.model, bos + prefix + cont, target))
                stats = statistics(window(smp.vocab.decode(bos + prefix + cont)[0], (first - 1) * bt, last * bt))
                add(f"{name}_continue_pitch_class_entropy", stats["pitch_class_entropy"])
            add(f"true_{name}", nll(smp.model, bos + prefix + true_mid, target))
        else:
            pieces += 1
    summary = {k: round(mean(v), 4) for k, v in out.items()}
    summary["data_range"] = {k: [round(ref[k]["mean"], 3), round(ref[k]["sd"], 3)]
                             for k in ("pitch_class_entropy", "scale_consistency")}
    return {"val_loss": {"fim": val_loss(runs[fim]), "plain": val_loss(runs[0.0])}, "pieces": pieces, **summary}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--fim", type=float, default=0.5)
    ap.add_argument("--kinds", default="text,music")
    ap.add_argument("--hidden", type=int, default=128, help="units per layer (2 layers), both kinds")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--bptt", type=int, default=64)
    ap.add_argument("--out", type=Path, default=Path("/tmp/fim-check"))
    ap.add_argument("--train", nargs=3, metavar=("KIND", "FIM", "RUN"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.train:
        kind, fim, run = args.train
        size = {"hidden": args.hidden, "embed": min(args.hidden, 64), "layers": 2, "batch": args.batch, "bptt": args.bptt}
        train_one(kind, float(fim), Path(run), args.steps, str(args.out / "shakespeare.txt"), size)
        return
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    from genart.kinds.text.corpus import shakespeare

    (args.out / "shakespeare.txt").write_text(shakespeare()[0][:TEXT_CHARS])
    results: dict[str, Any] = {}
    for kind in args.kinds.split(","):
        runs = {f: args.out / f"{kind}-fim{f}" for f in (0.0, args.fim)}
        t = time.time()
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        procs = [subprocess.Popen([sys.executable, __file__, "--steps", str(args.steps), "--out", str(args.out),
                                   "--hidden", str(args.hidden), "--batch", str(args.batch), "--bptt", str(args.bptt),
                                   "--train", kind, str(f), str(run)], env=env) for f, run in runs.items()]
        if any(p.wait() for p in procs):
            raise SystemExit(f"{kind}: a training run failed")
        trained = time.time() - t
        measure = text_measure(runs, args.fim) if kind == "text" else music_measure(runs, args.fim, args.out)
        results[kind] = {"steps": args.steps, "fim": args.fim, "hidden": args.hidden, "batch": args.batch,
                         "bptt": args.bptt, "train_minutes_side_by_side": round(trained / 60, 1),
                         **measure}
        print(kind, json.dumps(results[kind], indent=1), flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    lines = ["# --fim check (benchmarks/fim_check.py)", "",
             f"{platform.processor() or platform.machine()}, torch {torch.__version__}, load average {load:.1f} "
             f"(shared machine); `{' '.join(sys.argv)}`", "", "```json", json.dumps(results, indent=1), "```", ""]
    (HERE / "RESULTS-fim.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
