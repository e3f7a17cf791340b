"""Text by likes (genart.evolve_text): sessions of texts, elitism, branches and crosses of the liked texts, a
temperature that adapts to agreement, lineage, reproducibility, clean errors; the CLI and the studio's endpoints.

One tiny text model (one small LSTM layer) trained for real for a few steps on a sonnet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import quiet_console

import genart
import genart.evolve_text as et
from genart.core.errors import ConfigError, GenartError
from genart.evolve_text import TextSession, cap, evolve_texts, start_text_session

PRIME = "Shall "
SONNET = ("Shall I compare thee to a summer's day?\nThou art more lovely and more temperate:\n"
          "Rough winds do shake the darling buds of May,\nAnd summer's lease hath all too short a date;\n\n")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RUNS/words: a tiny text run (6 steps on a sonnet)."""
    from genart.kinds.text.config import TextConfig
    from genart.train import train

    root = tmp_path_factory.mktemp("evolve-text")
    (root / "sonnet.txt").write_text(8 * SONNET, encoding="utf-8")
    (root / "runs").mkdir()
    cfg = TextConfig(data=str(root / "sonnet.txt"), layers=1, hidden=32, embed=16, batch=8, bptt=32, steps=6,
                     warmup=2, log_every=3, sample_every=0, device="cpu", precision="fp32")
    train(cfg, root / "runs" / "words", console=quiet_console())
    return root / "runs" / "words"


@pytest.fixture(scope="module")
def model(run: Path) -> genart.api.Model:
    return genart.load(run, device="cpu")


def image_session(run: Path, name: str = "pictures") -> None:
    """An image evolution session (latents) in the text run's sessions folder."""
    import torch

    from genart.evolve import Member, Session

    Session(name=name, run=run.name, population=[Member(z=torch.zeros(4).tolist())]).save(run)


def shared_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def test_likes_keep_branch_and_cross_the_liked_texts(model) -> None:
    s = start_text_session(model, "breed", n=6, length=40, prime=PRIME)
    assert [m.origin for m in s.population] == [f"seed {i}" for i in range(6)]
    assert all(m.text.startswith(PRIME) and len(m.text) == len(PRIME) + 40 for m in s.population)
    gen0 = list(s.population)
    evolve_texts(model, s, [4, 2], [0])
    pop = s.population
    assert s.generation == 1 and len(pop) == 6
    assert [m.text for m in pop[:2]] == [gen0[4].text, gen0[2].text]  # liked first, in the order given
    assert [m.origin for m in pop[:2]] == ["kept 4", "kept 2"]
    children = pop[2:-1]
    assert {m.origin.split(" of ")[0] for m in children} == {"branch", "cross"}, [m.origin for m in children]
    for m in children:  # each starts with the first half (or more) of a liked text's generated part
        first = int(m.origin.split(" of ")[1].split(",")[0])
        assert first in (2, 4)
        parent = gen0[first].text
        assert shared_prefix(m.text, parent) >= len(PRIME) + 20, (m.origin, m.text, parent)
        assert len(m.text) > shared_prefix(m.text, parent)  # and goes on from there
    assert pop[-1].origin == "new" and pop[-1].text.startswith(PRIME)  # one newcomer from the prime

    for like, dislike in (([2, 3], [1, 0]), ([0, 5], [4])):
        disliked_ids = {s.population[i].id for i in dislike}
        evolve_texts(model, s, like, dislike)
        parent_ids = {p for m in s.population for p in s.parents[str(m.id)]}
        assert parent_ids and not parent_ids & disliked_ids  # disliked texts are never parents
    for i, m in enumerate(s.population):  # the lineage goes back to generation 0 (or to a newcomer)
        line = s.lineage(i)
        assert line[0] == m.id and (line[-1] < 6 or s.parents[str(line[-1])] == [])
    assert gen0[0].id not in {p for ps in s.parents.values() for p in ps}
    assert [h["liked"] for h in s.history] == [[4, 2], [2, 3], [0, 5]] and s.generation == 3
    evolve_texts(model, s, [], list(range(6)))  # everything disliked: only newcomers from the prime
    assert [m.origin for m in s.population] == ["new"] * 6 and all(m.text.startswith(PRIME) for m in s.population)


def test_the_same_likes_give_the_same_generation(model, run: Path) -> None:
    start_text_session(model, "again", n=5, length=30, prime=PRIME, seed=7).save(run)
    a = evolve_texts(model, TextSession.load(run, "again"), [1, 3], [0])
    b = evolve_texts(model, TextSession.load(run, "again"), [1, 3], [0])
    c = evolve_texts(model, TextSession.load(run, "again"), [2], [0])
    assert [(m.text, m.origin, m.seed) for m in a.population] == [(m.text, m.origin, m.seed) for m in b.population]
    assert [m.text for m in a.population] != [m.text for m in c.population]
    a.save(run)
    back = TextSession.load(run, "again")
    assert back.population == a.population and back.history == a.history and back.temperature == a.temperature
    assert json.loads((run / "studio" / "sessions" / "again.json").read_text())["evolves"] == "texts"


def test_temperature_falls_when_likes_agree_and_rises_when_nothing_is_liked(model) -> None:
    s = start_text_session(model, "agree", n=6, length=20, prime=PRIME)
    evolve_texts(model, s, [1, 4])
    before = s.temperature
    evolve_texts(model, s, [0, 1, 2])  # two kept texts and a branch of them: likes that agree
    assert s.temperature < before
    cold = start_text_session(model, "cold", n=6, length=20, prime=PRIME, temperature=1.0)
    evolve_texts(model, cold, [], [0, 1])  # nothing liked: explore
    assert cold.temperature > 1.0
    for _ in range(6):
        evolve_texts(model, cold, [], [])
    assert cold.temperature == et.MAX_TEMPERATURE  # clamped


def test_long_texts_keep_their_tail(model, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cap("abc") == ("abc", 0)
    tail, dropped = cap("one two three four five", 12)
    assert tail == "four five" and dropped == 14
    monkeypatch.setattr(et, "MAX_CHARS", 90)
    s = start_text_session(model, "long", n=5, length=40, prime=PRIME)
    for _ in range(4):
        evolve_texts(model, s, [2, 3])  # like the children: the texts grow
    assert all(len(m.text) <= 90 for m in s.population)
    grown = [m for m in s.population if m.dropped > 0]
    assert grown and all(len(m.text) >= 60 for m in grown)  # the head went, the tail stayed
    assert all(s.generated_from(m) == max(0, len(PRIME) - m.dropped) for m in s.population)


def test_bad_indices_and_the_wrong_kind_of_session_are_clean_errors(model, run: Path) -> None:
    from genart.evolve import Session

    s = start_text_session(model, "errors", n=4, length=10, prime=PRIME)
    with pytest.raises(ConfigError, match="not in this generation"):
        evolve_texts(model, s, [4])
    with pytest.raises(ConfigError, match="both liked and disliked"):
        evolve_texts(model, s, [1], [1])
    with pytest.raises(ConfigError, match="out of range"):
        start_text_session(model, "errors", n=1)
    with pytest.raises(ConfigError, match="lacks"):
        start_text_session(model, "errors", n=2, prime="Ω")
    assert s.generation == 0  # nothing changed
    image_session(run)
    with pytest.raises(GenartError, match="image session"):
        TextSession.load(run, "pictures")
    s.save(run)
    with pytest.raises(GenartError):  # and the image side refuses the text session
        Session.load(run, "errors")


def test_the_cli_evolves_a_text_run(run: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from genart.cli import app

    def evolve(*args: str):
        return CliRunner().invoke(app, ["evolve", str(run), "--session", "cli", "--device", "cpu", *args])

    r = evolve("--out", str(tmp_path / "g0.txt"), "--n", "4", "--length", "30", "--prime", PRIME)
    assert r.exit_code == 0, r.output
    assert "generation 0 (4 texts" in r.output and "seed 3" in r.output
    text = (tmp_path / "g0.txt").read_text()
    assert "[0] seed 0\nShall " in text and "[3] seed 3\n" in text
    r = evolve("--out", str(tmp_path / "g1.txt"), "--like", "3,1", "--dislike", "0")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert "generation 1" in r.output and lines[2].split()[:3] == ["0", "kept", "3"] and "new" in lines[-1], r.output
    prov = json.loads((tmp_path / "g1.txt.json").read_text())
    assert prov["ai_generated"] == "true" and prov["session"] == "cli" and prov["generation"] == 1
    assert prov["origins"][:2] == ["kept 3", "kept 1"] and len(prov["samples"]) == 4
    session = json.loads((run / "studio" / "sessions" / "cli.json").read_text())
    assert session["generation"] == 1 and session["population"][0]["text"] in text

    for args, error, fragment in (
            (["--out", str(tmp_path / "x.txt"), "--like", "9"], ConfigError, "not in this generation"),
            (["--out", str(tmp_path / "x.png"), "--like", "1"], ConfigError, "writes text"),
            (["--out", str(tmp_path / "x.txt"), "--prime", "Thou "], ConfigError, "another --prime")):
        r = evolve(*args)
        assert isinstance(r.exception, error) and fragment in r.exception.message, (args, r.output)
    r = CliRunner().invoke(app, ["evolve", str(run), "--session", "brand-new", "--like", "1", "--out",
                                 str(tmp_path / "x.txt")])
    assert isinstance(r.exception, GenartError) and "does not exist yet" in r.exception.message


def test_the_studio_endpoints(run: Path) -> None:
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from genart.studio.app import create_app

    client = TestClient(create_app(run.parent, device="cpu"), raise_server_exceptions=False)
    url = "/api/runs/words/text-sessions/web"
    r = client.post(url + "/start", json={"prime": PRIME, "n": 4, "length": 24, "seed": 3})
    assert r.status_code == 200, r.text
    g0 = r.json()
    assert g0["generation"] == 0 and g0["temperature"] == 0.8 and [m["origin"] for m in g0["members"]][:1] == ["seed 3"]
    assert all(m["text"].startswith(PRIME) for m in g0["members"]) and g0["provenance"]["ai_generated"] == "true"
    r = client.post(url + "/evolve", json={"like": [2], "dislike": [0]})
    assert r.status_code == 200, r.text
    g1 = r.json()
    assert g1["generation"] == 1 and g1["members"][0]["origin"] == "kept 2"
    assert g1["members"][0]["text"] == g0["members"][2]["text"]
    assert g1["members"][1]["origin"] == "branch of 2" and g1["members"][1]["lineage"][-1] == g0["members"][2]["id"]
    assert client.get(url).json()["members"] == g1["members"]

    def error(r, status: int, fragment: str) -> None:
        assert r.status_code == status and fragment in r.json()["error"] and "Traceback" not in r.text, r.text

    error(client.post(url + "/evolve", json={"like": [7]}), 400, "not in this generation")
    error(client.post(url + "/evolve", json={"like": [-1]}), 422, "invalid")
    error(client.post(url + "/start", json={"n": 1}), 422, "invalid n")
    error(client.post(url + "/start", json={"length": 5000}), 422, "invalid length")
    error(client.get("/api/runs/words/text-sessions/nothing-here"), 404, "no session")
    error(client.post("/api/runs/words/text-sessions/bad.name/evolve", json={"like": [0]}), 400, "not allowed")
    image_session(run)
    error(client.get("/api/runs/words/text-sessions/pictures"), 400, "image session")
