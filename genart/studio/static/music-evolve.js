"use strict";
// Music by ear, on the music panel (runs whose kind can "audio" and "latent", e.g. the music VAE): start a session,
// play each candidate (a WAV of that member, and its small piano roll), like or dislike, and breed the next
// generation in the latent space (genart.evolve, through /api/runs/RUN/music-sessions/NAME). Uses app.js's $, state,
// base, api, post and showError, and music.js's drawRoll; music.js calls reset(available) when a music run opens.

const musicEvolve = (() => {
  const e = { session: null, marks: {} };

  function url(name) { return base() + "/music-sessions/" + encodeURIComponent(name); }

  function busy(message) {
    const p = $("music-evolve-progress");
    p.textContent = message;
    p.classList.toggle("busy", !!message);
    $("music-evolve-start").disabled = !!message;
    $("music-evolve-next").disabled = !!message || !e.session;
  }

  function reset(available) {
    e.session = null;
    e.marks = {};
    $("music-cards").replaceChildren();
    $("music-generation").textContent = "";
    $("music-evolve").hidden = !available;
    busy("");
  }

  function mark(card, i, how) {
    const now = e.marks[i] === how ? undefined : how;
    if (now) e.marks[i] = now; else delete e.marks[i];
    card.classList.toggle("liked", now === "liked");
    card.classList.toggle("disliked", now === "disliked");
  }

  function marked(how) { return Object.entries(e.marks).filter(([, v]) => v === how).map(([k]) => parseInt(k, 10)); }

  function button(text, title, cls, onClick) {
    const b = Object.assign(document.createElement("button"), { type: "button", textContent: text, title: title });
    b.className = cls;
    b.addEventListener("click", onClick);
    return b;
  }

  function show(s) {
    e.session = s;
    e.marks = {};
    $("music-generation").textContent = s.numbering;
    const box = $("music-cards");
    box.replaceChildren();
    const tag = `?g=${s.generation}`;  // a new generation's members are new files
    for (const member of s.members) {
      const card = document.createElement("figure");
      card.className = "music-card";
      card.dataset.index = member.index;
      const cap = document.createElement("figcaption");
      const label = document.createElement("span");
      label.textContent = `${member.index} · ${member.origin}`;
      const src = url(s.name) + `/${member.index}.wav` + tag;
      const dl = Object.assign(document.createElement("a"), { textContent: "⤓", title: "download WAV", href: src + "&download=true" });
      cap.append(label, button("♥", "like", "like", () => mark(card, member.index, "liked")),
                 button("✕", "dislike", "dislike", () => mark(card, member.index, "disliked")), dl);
      const canvas = Object.assign(document.createElement("canvas"), { width: 280, height: 110 });
      const audio = Object.assign(document.createElement("audio"), { controls: true, preload: "none", src: src });
      card.append(cap, canvas, audio);
      box.append(card);
      api(url(s.name) + `/${member.index}.json` + tag).then((roll) => musicPanel.drawRoll(canvas, roll))
        .catch((err) => showError(err.message, err.hint));
    }
    box.dataset.generation = String(s.generation);
  }

  async function start() {
    showError("");
    const name = $("music-session").value.trim();
    busy("making generation 0");
    try {
      show(await post(url(name) + "/start", { n: Math.max(2, parseInt($("music-n").value, 10) || 6),
                                               seed: parseInt($("music-seed").value, 10) || 0 }));
    } catch (err) { showError(err.message, err.hint); } finally { busy(""); }
  }

  async function next() {
    if (!e.session) return;
    showError("");
    busy("breeding the next generation");
    try {
      show(await post(url(e.session.name) + "/evolve", { like: marked("liked"), dislike: marked("disliked") }));
    } catch (err) { showError(err.message, err.hint); } finally { busy(""); }
  }

  $("music-evolve-start").addEventListener("click", start);
  $("music-evolve-next").addEventListener("click", next);
  return { reset };
})();
