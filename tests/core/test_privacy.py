"""Differentially private training (--dp-epsilon; genart.core.privacy, genart.core.dpsgd): DP-SGD through Opacus for the
VAE, the diffusion kind and the GAN's discriminator, on tiny digits runs. The budget is never exceeded and training
stops when it is spent; epsilon and delta reach metrics.jsonl, the checkpoint, `genart info` and the model card; a
resumed run continues the account; each example's gradient is really clipped; bad values are one-line errors; kinds
where DP is not sound have no such option."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from conftest import quiet_console, run_cli

from genart.core.checkpoints import load_checkpoint
from genart.core.dpsgd import epsilon, steps_allowed
from genart.core.errors import ConfigError
from genart.core.registry import all_kinds
from genart.info import run_info
from genart.kinds.diffusion.config import DiffusionConfig
from genart.kinds.gan.config import GANConfig
from genart.kinds.vae.config import VAEConfig
from genart.train import Trainer

LOOP = dict(data="builtin:digits", device="cpu", threads=1, sample_every=0, save_every=3600.0, log_every=5)
VAE = dict(size=8, width=8, latent=8, batch=16, **LOOP)


def vae(**options) -> VAEConfig:
    return VAEConfig(**{**VAE, **options})


def fit(cfg, out: Path) -> tuple[Trainer, str]:
    console = quiet_console()
    trainer = Trainer(cfg, out, console=console)
    trainer.fit()
    return trainer, console.file.getvalue()


def dp_rows(out: Path) -> list[dict]:
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if "dp_epsilon" in r]


def test_a_private_vae_stops_when_its_budget_is_spent_and_says_so_everywhere(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cfg = vae(dp_epsilon=0.5, dp_noise=1.4, steps=5000)  # the budget allows far fewer steps than asked
    trainer, said = fit(cfg, out)
    n = len(trainer.model.images)
    allowed = steps_allowed([], 1.4, 16 / n, 1e-5, 0.5)
    assert 0 < allowed < 5000 and trainer.step == allowed
    assert "privacy budget spent: epsilon" in said and "of 0.5" in said
    rows = dp_rows(out)
    assert rows and all(0 < r["dp_epsilon"] <= 0.5 and r["dp_delta"] == 1e-5 for r in rows)
    assert rows[-1]["step"] == allowed and rows[-1]["dp_epsilon"] > 0.45  # (almost) all of it spent
    # one more step would exceed the budget
    assert epsilon([(1.4, 16 / n, allowed + 1)], 1e-5) > 0.5 >= epsilon([(1.4, 16 / n, allowed)], 1e-5)

    state, _ = load_checkpoint(out / "checkpoints" / "last.safetensors")
    record = state["model"]["privacy"]
    assert record["epsilon"] <= 0.5 and record["delta"] == 1e-5 and record["steps"] == allowed
    assert record["history"] == [[1.4, 16 / n, allowed]] and record["sampling"] == "poisson"
    info = run_info(out)
    assert info["privacy"]["epsilon"] == pytest.approx(record["epsilon"]) and info["privacy"]["delta"] == 1e-5
    card = (out / "MODEL_CARD.md").read_text()
    assert "## Privacy" in card and f"epsilon = {record['epsilon']:.3g}, delta = 1e-05" in card

    # running it again takes no step: the budget is spent
    again, said = fit(vae(dp_epsilon=0.5, dp_noise=1.4, steps=6000), out)
    assert again.step == allowed and "nothing left to train" in said


def test_resuming_continues_the_account(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first, _ = fit(vae(dp_epsilon=1.0, dp_delta=1e-6, dp_noise=1.4, steps=10), out)
    before = dp_rows(out)[-1]["dp_epsilon"]
    noise = first.model.privacy.noise
    again, said = fit(vae(dp_epsilon=1.0, dp_delta=1e-6, dp_noise=1.4, steps=20), out)
    assert "resuming from step 10" in said
    after = again.model.privacy
    assert after.noise == noise and after.steps == 20  # the plan kept, the history continued
    assert dp_rows(out)[-1]["dp_epsilon"] > before
    assert after.epsilon() == pytest.approx(epsilon([(noise, after.rate, 20)], 1e-6))
    assert after.delta == 1e-6 and run_info(out)["privacy"]["steps"] == 20


def test_each_example_gradient_is_clipped(tmp_path: Path) -> None:
    clip = 1e-3
    trainer, _ = fit(vae(dp_epsilon=10.0, dp_clip=clip, steps=2), tmp_path / "run")
    privacy = trainer.model.privacy
    params = [p for m in (trainer.model.enc, trainer.model.dec) for p in m.parameters()]
    # the last step's per-example gradients (kept until the next zero_grad) are far above the clip...
    per_example = torch.stack([p.grad_sample.flatten(1).norm(dim=1) for p in params], 1).norm(dim=1)
    assert per_example.shape[0] == privacy.last_batch > 0 and per_example.min() > 100 * clip
    # ... and their sum, before the noise, is within batch x clip
    summed = torch.stack([p.summed_grad.norm() for p in params]).norm()
    assert summed <= privacy.last_batch * clip * (1 + 1e-4)


def test_a_private_diffusion_run_reports_its_epsilon(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cfg = DiffusionConfig(size=16, width=8, batch=16, sample_steps=2, dp_epsilon=1.0, dp_noise=1.0, steps=100,
                          **LOOP)
    trainer, said = fit(cfg, out)
    assert 0 < trainer.step < 100 and "privacy budget spent" in said  # 1.0 at noise 1.0 allows a few steps only
    rows = dp_rows(out)
    assert rows[-1]["step"] == trainer.step and 0 < rows[-1]["dp_epsilon"] <= 1.0
    assert run_info(out)["privacy"]["epsilon"] <= 1.0
    assert "## Privacy" in (out / "MODEL_CARD.md").read_text()
    assert trainer.precision == "fp32"


def test_a_private_gan_trains_its_discriminator_privately(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cfg = GANConfig(size=8, width=8, batch=16, dp_epsilon=2.0, steps=6, **LOOP)
    trainer, _ = fit(cfg, out)
    model = trainer.model
    assert cfg.loss == "bce"  # the default under DP: r3gan's penalties differentiate D twice
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.D.modules())
    assert model.privacy.wraps(model.opt_d) and not model.privacy.wraps(model.opt_g)
    assert all(p.grad_sample is not None for p in model.D.parameters())  # D's step used per-example gradients
    assert model.privacy.steps == 6 and 0 < dp_rows(out)[-1]["dp_epsilon"] <= 2.0
    assert "discriminator" in run_info(out)["privacy"]["protects"]
    with pytest.raises(ConfigError, match="r3gan"):
        GANConfig(size=8, width=8, dp_epsilon=1.0, loss="r3gan", **LOOP).validate()


@pytest.mark.parametrize("options, message", [
    (dict(dp_epsilon=-1.0), "--dp-epsilon must be positive"),
    (dict(dp_epsilon=0.0), "--dp-epsilon must be positive"),
    (dict(dp_epsilon=1.0, dp_delta=1.0), "--dp-delta must be between 0 and 1"),
    (dict(dp_epsilon=1.0, dp_delta=0.0), "--dp-delta must be between 0 and 1"),
    (dict(dp_epsilon=1.0, dp_clip=0.0), "--dp-clip must be positive"),
    (dict(dp_delta=1e-5), "--dp-delta is given without --dp-epsilon"),
    (dict(dp_epsilon=1.0, precision="bf16"), "--precision bf16 is not supported with --dp-epsilon"),
    (dict(dp_epsilon=1.0, compile=True), "--compile is not supported with --dp-epsilon"),
])
def test_invalid_values_are_refused(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        vae(**options).validate()


def test_the_cli_gives_one_line_errors_and_offers_dp_only_where_it_is_sound(tmp_path: Path) -> None:
    rc, _, err = run_cli("train", "vae", "--data", "builtin:digits", "--out", tmp_path / "r", "--dp-epsilon", "-1")
    assert rc == 2 and "--dp-epsilon must be positive" in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.strip()]) <= 2  # the error and its hint
    private = {name for name, spec in all_kinds().items()
               if "dp_epsilon" in {f.name for f in dataclasses.fields(spec.config)}}
    assert {"vae", "diffusion", "gan"} <= private and not {"text", "music"} & private
    rc, _, err = run_cli("train", "text", "--data", "builtin:shakespeare", "--out", tmp_path / "t", "--dp-epsilon", "1")
    assert rc == 2 and "No such option" in err


def test_the_vae_takes_dp_sgd_defaults_under_dp_unless_told_otherwise() -> None:
    from genart.kinds.vae.config import VAEConfig

    plain, private = VAEConfig(data="builtin:digits"), VAEConfig(data="builtin:digits", dp_epsilon=10.0)
    for cfg in (plain, private):
        cfg.validate()
    assert (plain.size, plain.batch, plain.lr) == (32, 64, 1e-3)
    assert (private.size, private.batch, private.lr) == (16, 256, 3e-3)  # larger batches: the noise is divided by it
    told = VAEConfig(data="builtin:digits", dp_epsilon=10.0, size=32, batch=64, lr=1e-3)
    told.validate()
    assert (told.size, told.batch, told.lr) == (32, 64, 1e-3)
    assert VAEConfig.dp_plan_epochs == 60
