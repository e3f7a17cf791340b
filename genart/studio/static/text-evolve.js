"use strict";
// Text by likes, on the text panel (runs whose kind can "sequence" and "text"): start a session from the primer and
// settings above, like or dislike texts, and breed the next generation (genart.evolve_text, through
// /api/runs/RUN/text-sessions/NAME). Uses app.js's $, state, base, post and showError; app.js calls reset() when a
// text run opens.

const textEvolve = (() => {
  const t = { session: null, marks: {} };

  function url(name) { return base() + "/text-sessions/" + encodeURIComponent(name); }

  function busy(message) {
    const p = $("text-evolve-progress");
    p.textContent = message;
    p.classList.toggle("busy", !!message);
    $("text-evolve-start").disabled = !!message;
    $("text-evolve-next").disabled = !!message || !t.session;
  }

  function reset() {
    t.session = null;
    t.marks = {};
    $("text-cards").replaceChildren();
    $("text-generation").textContent = "";
    busy("");
  }

  function mark(card, i, how) {
    const now = t.marks[i] === how ? undefined : how;
    if (now) t.marks[i] = now; else delete t.marks[i];
    card.classList.toggle("liked", now === "liked");
    card.classList.toggle("disliked", now === "disliked");
  }

  function marked(how) { return Object.entries(t.marks).filter(([, v]) => v === how).map(([k]) => parseInt(k, 10)); }

  function button(text, title, cls, onClick) {
    const b = Object.assign(document.createElement("button"), { type: "button", textContent: text, title: title });
    b.className = cls;
    b.addEventListener("click", onClick);
    return b;
  }

  function show(s) {
    t.session = s;
    t.marks = {};
    $("text-generation").textContent = `generation ${s.generation} · temperature ${s.temperature.toFixed(2)}`;
    const box = $("text-cards");
    box.replaceChildren();
    for (const m of s.members) {
      const card = document.createElement("figure");
      card.className = "text-card";
      card.dataset.index = m.index;
      const cap = document.createElement("figcaption");
      const label = document.createElement("span");
      label.textContent = `${m.index} · ${m.origin}`;
      label.title = "lineage (ids, newest first): " + m.lineage.join(" ← ");
      const note = "\n\n-- AI-generated with genart: " + JSON.stringify({ ...s.provenance, index: m.index, origin: m.origin, seed: m.seed });
      const dl = Object.assign(document.createElement("a"), { textContent: "⤓", title: "download text",
        href: URL.createObjectURL(new Blob([m.text + note + "\n"], { type: "text/plain" })) });
      dl.setAttribute("download", `${state.run}-${s.name}-g${s.generation}-${m.index}.txt`);
      cap.append(label, button("♥", "like", "like", () => mark(card, m.index, "liked")),
                 button("✕", "dislike", "dislike", () => mark(card, m.index, "disliked")), dl);
      const pre = document.createElement("pre");
      pre.textContent = m.text;
      card.append(cap, pre);
      box.append(card);
      pre.scrollTop = pre.scrollHeight;  // a long text shows its newest part
    }
    box.dataset.generation = String(s.generation);
  }

  async function start() {
    showError("");
    const name = $("text-session").value.trim();
    busy("writing generation 0");
    try {
      show(await post(url(name) + "/start", {
        prime: $("prime").value, temperature: parseFloat($("temperature").value), length: parseInt($("length").value, 10),
        n: Math.max(2, parseInt($("text-n").value, 10)), seed: parseInt($("text-seed").value, 10) }));
    } catch (e) { showError(e.message, e.hint); } finally { busy(""); }
  }

  async function next() {
    if (!t.session) return;
    showError("");
    busy("breeding the next generation");
    try {
      show(await post(url(t.session.name) + "/evolve", { like: marked("liked"), dislike: marked("disliked") }));
    } catch (e) { showError(e.message, e.hint); } finally { busy(""); }
  }

  $("text-evolve-start").addEventListener("click", start);
  $("text-evolve-next").addEventListener("click", next);
  return { reset };
})();
