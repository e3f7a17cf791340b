"""The studio's web API through FastAPI's TestClient: listings, images, sessions, text, and its safety rules."""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path

import pytest
from conftest import studio_runs, train_tiny
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from genart.core.registry import IMAGES, kinds_that  # noqa: E402
from genart.studio.app import create_app  # noqa: E402


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RUNS_DIR with a conditional gan, a tiny text run, a broken run, a symlink to a run outside, and a stray file."""

    root = tmp_path_factory.mktemp("studio") / "runs"
    root.mkdir()
    studio_runs(root)  # a digits GAN run and a tiny text run
    (root / "broken").mkdir()
    (root / "broken" / "config.json").write_text('{"kind": "gan", "config": {"data": "x"}}')
    outside = train_tiny(root.parent / "outside", labels="none", arch="mlp", steps=2)
    os.symlink(outside, root / "sneaky")
    (root / "notes.txt").write_text("not a run")
    return root


@pytest.fixture(scope="module")
def client(runs: Path) -> TestClient:
    return TestClient(create_app(runs, device="cpu"), raise_server_exceptions=False)


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def assert_error(r, status: int, fragment: str = "") -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "hint"} and fragment in body["error"], body
    assert "Traceback" not in r.text and "File \"" not in r.text
    return body


def png(r) -> Image.Image:
    assert r.status_code == 200 and r.headers["content-type"] == "image/png", r.text
    return Image.open(io.BytesIO(r.content))


def test_lists_runs_and_pages(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and "genart studio" in r.text and "/static/app.js" in r.text
    assert "http://" not in r.text and "https://" not in r.text  # offline: no CDN
    for asset in ("app.js", "style.css"):
        r = client.get(f"/static/{asset}")
        assert r.status_code == 200 and "https://" not in r.text
    runs = {r["name"]: r for r in client.get("/api/runs").json()["runs"]}
    assert set(runs) == {"digits", "words", "broken"}  # no symlinked run, no stray file
    assert runs["digits"]["kind"] == "gan" and runs["digits"]["step"] == 20 and "builtin:digits" in runs["digits"]["data"]
    assert runs["words"]["kind"] == "text" and runs["broken"]["step"] == 0  # listed: it has no checkpoint
    detail = client.get("/api/runs/digits").json()
    assert detail["image"] and detail["classes"][:2] == ["0", "1"] and len(detail["directions"]) == 8


def test_images_carry_provenance_and_follow_the_controls(client: TestClient) -> None:
    a = png(client.get("/api/runs/digits/image.png", params={"seed": 3}))
    assert a.text["AI-generated"] == "true" and a.text["genart:run"] == "digits" and a.text["genart:seed"] == "3"
    b = png(client.get("/api/runs/digits/image.png", params={"seed": 3, "edits": "0:3.0,2:-1", "mix": 5, "cls": "7"}))
    assert b.tobytes() != a.tobytes() and b.text["genart:edits"] == "0:3.0,2:-1" and b.text["genart:class"] == "7"
    assert png(client.get("/api/runs/digits/image.png", params={"seed": 3})).tobytes() == a.tobytes()  # deterministic
    r = client.get("/api/runs/digits/grid.png", params={"seed": 0, "n": 16, "truncation": 0.7})
    assert png(r).text["genart:seeds"] == "0-15" and "attachment" in r.headers["content-disposition"]
    r = client.get("/api/runs/digits/walk.gif", params={"a": "1", "b": "2", "frames": 6, "download": True})
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif" and "attachment" in r.headers["content-disposition"]
    gif = Image.open(io.BytesIO(r.content))
    assert gif.n_frames == 6 and json.loads(gif.info["comment"])["ai_generated"] == "true"


def test_evolution_sessions_live_in_the_runs_studio_folder(client: TestClient, runs: Path) -> None:
    before = files_under(runs)
    s = client.post("/api/runs/digits/sessions/web/start", json={"n": 8, "seed": 4}).json()
    assert s["generation"] == 0 and len(s["members"]) == 8
    s = client.post("/api/runs/digits/sessions/web/evolve", json={"like": [2, 5], "dislike": [0]}).json()
    assert s["generation"] == 1 and [m["origin"] for m in s["members"][:2]] == ["kept 2", "kept 5"]
    assert client.get("/api/runs/digits/sessions/web").json()["generation"] == 1
    png(client.get("/api/runs/digits/sessions/web/3.png"))
    r = client.get("/api/runs/digits/walk.gif", params={"a": "s:web:0", "b": "7", "frames": 4})
    assert r.status_code == 200
    new = files_under(runs) - before
    assert new and all(p.startswith("digits/studio/") for p in new), new
    assert_error(client.get("/api/runs/digits/sessions/web/99.png"), 404, "not in generation")
    assert_error(client.post("/api/runs/digits/sessions/web/evolve", json={"like": [9]}), 400, "not in this generation")
    assert_error(client.post("/api/runs/digits/sessions/nosuch/evolve", json={"like": [1]}), 404, "no session")
    assert_error(client.post("/api/runs/digits/sessions/bad.name/start", json={}), 400, "not allowed")


def test_text_pages_generate_with_primer_and_temperature(client: TestClient) -> None:
    r = client.post("/api/runs/words/text", json={"prime": "the ", "temperature": 0.7, "length": 20, "n": 2, "seed": 1})
    body = r.json()
    assert r.status_code == 200 and len(body["texts"]) == 2 and all(t.startswith("the ") for t in body["texts"])
    assert body["provenance"]["ai_generated"] == "true" and body["provenance"]["temperature"] == 0.7
    again = client.post("/api/runs/words/text", json={"prime": "the ", "temperature": 0.7, "length": 20, "n": 2, "seed": 1})
    assert again.json()["texts"] == body["texts"]
    assert_error(client.get("/api/runs/words/image.png"), 400, "text run")
    assert_error(client.post("/api/runs/digits/text", json={}), 400, "gan run")
    assert_error(client.get("/api/runs/words/music.wav"), 400, "not a music run")


@pytest.mark.parametrize("path", [
    "/api/runs/..", "/api/runs/%2E%2E", "/api/runs/..%2F..%2Fetc", "/api/runs/%2Fetc%2Fpasswd", "/api/runs/.hidden",
    "/api/runs/sneaky", "/api/runs/sneaky/image.png", "/api/runs/notes.txt", "/api/runs/nope/image.png",
    "/api/runs/digits%2F..%2F..%2Fwords", "/static/../app.py", "/static/%2E%2E/app.py",
    "/api/runs/digits/sessions/..%2F..%2Fconfig/3.png", "/api/runs/digits/walk.gif?a=1&b=s:../../x:1",
])
def test_paths_cannot_reach_outside_the_runs_folder(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code in (400, 404, 422), (path, r.status_code, r.text[:200])
    assert r.headers["content-type"].startswith("application/json") and "Traceback" not in r.text
    assert "genart_version" not in r.text and "def " not in r.text


@pytest.mark.parametrize("path, params, status, fragment", [
    ("grid.png", {"n": 257}, 422, "invalid n"), ("grid.png", {"n": 0}, 422, "invalid n"),
    ("image.png", {"seed": -1}, 422, "invalid seed"), ("image.png", {"seed": 2**31}, 422, "invalid seed"),
    ("image.png", {"seed": "abc"}, 422, "invalid seed"), ("image.png", {"truncation": 0}, 422, "invalid truncation"),
    ("image.png", {"truncation": 11}, 422, "invalid truncation"), ("image.png", {"size": 5000}, 422, "invalid size"),
    ("image.png", {"edits": "99:1"}, 400, "direction 99 is out of range"),
    ("image.png", {"edits": "0:100"}, 400, "amount 100.0 is out of range"),
    ("image.png", {"edits": "0:1;x"}, 422, "invalid edits"),
    ("image.png", {"cls": "not-a-class"}, 400, "not one of this run's classes"),
    ("image.png", {"mix": -3}, 422, "invalid mix"),
    ("walk.gif", {"a": "1", "b": "2", "frames": 1000}, 422, "invalid frames"),
    ("walk.gif", {"a": "1", "b": "x"}, 422, "not an image reference"), ("walk.gif", {"a": "1"}, 422, "invalid b"),
])
def test_out_of_range_parameters_are_clear_4xx_errors(client: TestClient, path: str, params: dict, status: int,
                                                      fragment: str) -> None:
    body = assert_error(client.get(f"/api/runs/digits/{path}", params=params), status, fragment)
    assert body["hint"], body  # every refusal says what to do instead


def test_run_detail_carries_the_kinds_capabilities(client: TestClient) -> None:
    digits = client.get("/api/runs/digits").json()
    assert set(digits["capabilities"]) == {"images", "latent", "classes"} and digits["image"] is True
    assert digits["z_dim"] > 0 and digits["method"] and digits["directions"]
    words = client.get("/api/runs/words").json()
    assert words["capabilities"] == ["sequence", "text"] and words["image"] is False
    assert not {"z_dim", "directions", "sessions"} & set(words)  # no image or latent panel to fill
    for path in ("image.png", "grid.png", "walk.gif?a=1&b=2", "sessions/web", "sessions/web/0.png"):
        body = assert_error(client.get(f"/api/runs/words/{path}"), 400, "words is a text run; this makes images")
        assert body["hint"] == f"use a {' or '.join(kinds_that(IMAGES))} run"  # the kinds that can, from the registry
        assert "gan" in body["hint"] and "vae" in body["hint"]
    assert_error(client.post("/api/runs/words/sessions/web/start", json={}), 400, "this makes images")


def test_a_sampler_that_renders_is_no_image_kind_without_the_capability(runs: Path) -> None:
    """Capabilities decide, not the sampler's methods: a kind whose sampler has `render` but which does not declare
    IMAGES gets no image endpoints and no image panel."""
    import torch

    from genart.core.registry import SEQUENCE, TEXT

    class Sampler:
        z_dim = 4

        def render(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return torch.zeros(len(z), 1, 8, 8)

    class Model:
        kind, step, classes, sampler = "scroll", 3, [], Sampler()
        spec = type("Spec", (), {"capabilities": frozenset({SEQUENCE, TEXT})})()

        def can(self, capability: str) -> bool:
            return capability in self.spec.capabilities

    app = create_app(runs, device="cpu")
    app.state.runs.cache[(runs / "words").resolve()] = (Model(), threading.Lock())
    c = TestClient(app, raise_server_exceptions=False)
    detail = c.get("/api/runs/words").json()
    assert detail["kind"] == "scroll" and detail["image"] is False and detail["capabilities"] == ["sequence", "text"]
    assert "z_dim" not in detail
    assert_error(c.get("/api/runs/words/image.png"), 400, "words is a scroll run; this makes images")
    assert_error(c.get("/api/runs/words/grid.png"), 400, "this makes images")


def test_bad_bodies_and_broken_runs(client: TestClient) -> None:
    assert_error(client.post("/api/runs/digits/sessions/w2/start", json={"n": 9999}), 422, "n")
    assert_error(client.post("/api/runs/digits/sessions/w2/start", json={"n": 4, "truncation": -1}), 422, "truncation")
    assert_error(client.post("/api/runs/words/text", json={"length": 10**6}), 422, "length")
    assert_error(client.post("/api/runs/words/text", json={"prime": "x" * 5000}), 422, "prime")
    assert_error(client.post("/api/runs/words/text", content=b"{not json", headers={"content-type": "application/json"}),
                 422)
    assert_error(client.get("/api/runs/broken"), 422, "cannot be loaded")
    assert_error(client.get("/api/runs/broken/image.png"), 422, "cannot be loaded")


def test_studio_refuses_a_missing_folder(tmp_path: Path) -> None:
    from genart.core.errors import GenartError

    with pytest.raises(GenartError):
        create_app(tmp_path / "missing")


def test_downloads_are_signed_and_previews_are_not(client: TestClient, tmp_path: Path) -> None:
    from genart.io.verify import VALID, verify_file

    for params, name in (({"seed": 3, "download": True}, "image.png"), ({"seed": 3}, "preview.png"),
                         ({"a": "1", "b": "2", "frames": 3, "download": True}, "walk.gif")):
        r = client.get(f"/api/runs/digits/{'walk.gif' if name == 'walk.gif' else 'image.png'}", params=params)
        assert r.status_code == 200, r.text
        (tmp_path / name).write_bytes(r.content)
    assert verify_file(tmp_path / "image.png").status == VALID
    assert verify_file(tmp_path / "walk.gif").status == VALID
    assert verify_file(tmp_path / "preview.png").status != VALID
