"use strict";
// Evolution by likes as a row of cards (the text and music panels): a session under base() + PATH + NAME, started and
// bred from the ids PREFIX-session, PREFIX-evolve-start, PREFIX-evolve-next and PREFIX-evolve-progress, shown as
// PREFIX-card figures in PREFIX-cards with a caption each (number · origin, ♥, ✕, download) above the panel's own
// content. The panel gives: startMessage and startBody() (what the start request sends), generationText(session),
// and card(member, session, label) -> { download, body: [elements], shown() (optional, once the card is in the page) }.
// Uses app.js's $, base, post, showError and likeButtons.

function evolvingCards({ prefix, path, startMessage, startBody, generationText, card }) {
  const c = { session: null, marks: {} };

  function url(name) { return base() + path + encodeURIComponent(name); }

  function busy(message) {
    const p = $(prefix + "-evolve-progress");
    p.textContent = message;
    p.classList.toggle("busy", !!message);
    $(prefix + "-evolve-start").disabled = !!message;
    $(prefix + "-evolve-next").disabled = !!message || !c.session;
  }

  function reset() {
    c.session = null;
    c.marks = {};
    $(prefix + "-cards").replaceChildren();
    $(prefix + "-generation").textContent = "";
    busy("");
  }

  function show(s) {
    c.session = s;
    c.marks = {};
    $(prefix + "-generation").textContent = generationText(s);
    const box = $(prefix + "-cards");
    box.replaceChildren();
    for (const m of s.members) {
      const fig = document.createElement("figure");
      fig.className = prefix + "-card";
      fig.dataset.index = m.index;
      const cap = document.createElement("figcaption");
      const label = document.createElement("span");
      label.textContent = `${m.index} · ${m.origin}`;
      const parts = card(m, s, label);
      cap.append(label, ...likeButtons(c, fig, m.index), parts.download);
      fig.append(cap, ...parts.body);
      box.append(fig);
      if (parts.shown) parts.shown();
    }
    box.dataset.generation = String(s.generation);
  }

  async function request(message, send) {
    showError("");
    busy(message);
    try { show(await send()); } catch (err) { showError(err.message, err.hint); } finally { busy(""); }
  }

  function start() {
    const name = $(prefix + "-session").value.trim();
    return request(startMessage, () => post(url(name) + "/start", startBody()));
  }

  function next() {
    if (!c.session) return;
    return request("breeding the next generation",
                   () => post(url(c.session.name) + "/evolve", { like: marked(c, "liked"), dislike: marked(c, "disliked") }));
  }

  $(prefix + "-evolve-start").addEventListener("click", start);
  $(prefix + "-evolve-next").addEventListener("click", next);
  return { reset, url };
}
