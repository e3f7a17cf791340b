"use strict";
// The music panel (runs whose kind can "audio"): the piece as a piano roll on a canvas that follows the playback,
// bars selected by dragging across the roll and regenerated (infilling, runs trained with --fim), and attribute
// sliders for runs that can morph (the music VAE). The piece is its parameters plus the ordered list of infills
// (bars a-b with seed s), sent to /api/runs/RUN/music.json, .wav and .mid alike (genart.studio.music). Uses app.js's
// $, state, base, api and showError; app.js calls open(info) when a music run opens and compose() for "generate".

const musicPanel = (() => {
  const m = { info: null, infills: [], edits: {}, roll: null, sel: null, drag: null, frame: 0, token: 0 };
  const PAD = { left: 34, right: 8, top: 16, bottom: 6 };

  function params() {
    const p = new URLSearchParams({ seed: $("music-seed").value, temperature: $("music-temperature").value });
    if (!m.info || m.info.bars === null) { p.set("bars", $("bars").value); p.set("notes", $("notes").value); }
    if (m.infills.length) p.set("infills", m.infills.map(([a, b, s]) => `${a}-${b}:${s}`).join(","));
    const edits = Object.entries(m.edits).filter(([, v]) => v !== 0).map(([k, v]) => `${k}:${v > 0 ? "+" : ""}${v}`);
    if (edits.length) p.set("edits", edits.join(","));
    return p;
  }

  // --- drawing (also used by music-evolve.js for the small rolls) ---------------------------------------

  function geometry(canvas, roll) {
    const pitches = roll.notes.map((n) => n[2]);
    const lo = Math.min(...pitches, 60) - 2, hi = Math.max(...pitches, 72) + 2;
    const end = roll.bars[roll.bars.length - 1] || 1;
    const w = canvas.width - PAD.left - PAD.right, h = canvas.height - PAD.top - PAD.bottom;
    return { lo, hi, end, x: (t) => PAD.left + (t / end) * w, y: (p) => PAD.top + ((hi - p) / (hi - lo + 1)) * h,
             row: h / (hi - lo + 1) };
  }

  function shade(ctx, g, roll, a, b, colour) {  // bars a..b (from 1), both included
    const x0 = g.x(roll.bars[a - 1]), x1 = g.x(roll.bars[Math.min(b, roll.bars.length - 1)]);
    ctx.fillStyle = colour;
    ctx.fillRect(x0, PAD.top, x1 - x0, ctx.canvas.height - PAD.top - PAD.bottom);
  }

  function drawRoll(canvas, roll, opts = {}) {
    const ctx = canvas.getContext("2d");
    const g = geometry(canvas, roll);
    ctx.fillStyle = "#fafafa";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    for (const [a, b, seed] of roll.infilled || []) {
      shade(ctx, g, roll, a, b, "rgba(255, 196, 0, 0.28)");
      ctx.fillStyle = "#9a6b00";
      ctx.font = "10px sans-serif";
      ctx.fillText(`infilled (seed ${seed})`, g.x(roll.bars[a - 1]) + 3, canvas.height - PAD.bottom - 3);
    }
    if (opts.sel) shade(ctx, g, roll, opts.sel.a, opts.sel.b, "rgba(40, 110, 220, 0.22)");
    ctx.font = "10px sans-serif";
    ctx.fillStyle = "#888";
    ctx.strokeStyle = "#ddd";
    for (let p = Math.ceil(g.lo / 12) * 12; p <= g.hi; p += 12) {  // every C, labelled (C4 = 60)
      const y = g.y(p) + g.row;
      ctx.beginPath(); ctx.moveTo(PAD.left, y); ctx.lineTo(canvas.width - PAD.right, y); ctx.stroke();
      ctx.fillText("C" + (p / 12 - 1), 4, y);
    }
    ctx.strokeStyle = "#999";
    roll.bars.forEach((t, i) => {
      const x = g.x(t);
      ctx.beginPath(); ctx.moveTo(x, PAD.top); ctx.lineTo(x, canvas.height - PAD.bottom); ctx.stroke();
      if (i < roll.bars.length - 1) ctx.fillText(String(i + 1), x + 3, PAD.top - 4);
    });
    for (const [s, e, p, v, k] of roll.notes) {
      const track = roll.tracks[k] || {};
      ctx.globalAlpha = 0.3 + 0.7 * (v / 127);
      ctx.fillStyle = track.drum ? "#3c3c3c" : track.colour || "#1f77b4";
      ctx.fillRect(g.x(s), g.y(p), Math.max(1, g.x(e) - g.x(s) - 1), Math.max(1, g.row - 0.5));
    }
    ctx.globalAlpha = 1;
    if (opts.time !== undefined && opts.time > 0) {
      const x = g.x(Math.min(opts.time, g.end));
      ctx.strokeStyle = "#d62728"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, canvas.height); ctx.stroke();
      ctx.lineWidth = 1;
    }
    canvas.dataset.playhead = opts.time ? opts.time.toFixed(2) : "";
    canvas.dataset.notes = String(roll.notes.length);
    canvas.dataset.infilled = (roll.infilled || []).map(([a, b]) => `${a}-${b}`).join(",");
  }

  function redraw() {
    if (m.roll) drawRoll($("roll"), m.roll, { sel: m.sel, time: $("audio").currentTime });
  }

  function follow() {  // the playhead follows the audio while it plays
    cancelAnimationFrame(m.frame);
    redraw();
    if (!$("audio").paused) m.frame = requestAnimationFrame(follow);
  }

  // --- selecting bars -----------------------------------------------------------------------------------

  function barAt(ev) {
    const canvas = $("roll"), rect = canvas.getBoundingClientRect();
    const x = (ev.clientX - rect.left) * (canvas.width / rect.width);
    const g = geometry(canvas, m.roll), t = ((x - PAD.left) / (g.x(g.end) - PAD.left)) * g.end;
    let bar = 1;
    m.roll.bars.forEach((s, i) => { if (t >= s && i < m.roll.bars.length - 1) bar = i + 1; });
    return bar;
  }

  function select(a, b) {
    m.sel = a === null ? null : { a: Math.min(a, b), b: Math.max(a, b) };
    const button = $("infill-bars");
    button.disabled = !m.sel;
    button.textContent = m.sel ? `regenerate bars ${m.sel.a}-${m.sel.b}` : "regenerate bars (drag across the roll)";
    redraw();
  }

  function wireRoll() {
    const canvas = $("roll");
    canvas.addEventListener("mousedown", (ev) => {
      if (!m.roll || !m.info || !m.info.infill) return;
      m.drag = barAt(ev);
      select(m.drag, m.drag);
    });
    canvas.addEventListener("mousemove", (ev) => { if (m.drag !== null) select(m.drag, barAt(ev)); });
    window.addEventListener("mouseup", () => { m.drag = null; });
  }

  // --- the piece ------------------------------------------------------------------------------------------

  async function load() {
    showError("");
    const token = ++m.token, p = params(), progress = $("music-progress");
    progress.textContent = "composing";
    progress.classList.add("busy");
    try {
      const roll = await api(base() + "/music.json?" + p);
      if (token !== m.token) return;
      m.roll = roll;
      $("roll").hidden = false;
      select(null);
      const audio = $("audio"), src = base() + "/music.wav?" + p;
      const wav = await fetch(src);  // held as a blob: seekable (the playhead follows seeks too)
      if (!wav.ok) { const err = await wav.json().catch(() => ({})); throw Object.assign(new Error(err.error || "no audio"), { hint: err.hint || "" }); }
      const blob = await wav.blob();
      if (token !== m.token) return;
      if (audio.src.startsWith("blob:")) URL.revokeObjectURL(audio.src);
      audio.src = URL.createObjectURL(blob);
      audio.dataset.src = src;
      audio.hidden = false;
      $("dl-wav").href = src + "&download=true";
      $("dl-mid").href = base() + "/music.mid?" + p;
      $("dl-wav").hidden = $("dl-mid").hidden = false;
      progress.textContent = `${roll.bar_count} bars · ${roll.notes.length} notes` +
        (m.infills.length ? " · regenerated " + m.infills.map(([a, b, s]) => `${a}-${b} (seed ${s})`).join(", ") : "");
    } catch (e) {
      if (token !== m.token) return;
      showError(e.message, e.hint);
      progress.textContent = "";
    } finally { if (token === m.token) progress.classList.remove("busy"); }
  }

  function compose() {  // "generate": a new piece from the settings, no infills yet
    m.infills = [];
    return load();
  }

  function infill() {
    if (!m.sel) return;
    const seed = parseInt($("infill-seed").value, 10) || 0;
    m.infills.push([m.sel.a, m.sel.b, seed]);
    $("infill-seed").value = String(seed + 1);
    return load();
  }

  function undo() { if (m.infills.length) { m.infills.pop(); load(); } }

  function sliders(names) {
    const box = $("music-attributes");
    box.replaceChildren();
    m.edits = {};
    for (const name of names) {
      m.edits[name] = 0;
      const label = document.createElement("label");
      label.textContent = name + " ";
      const input = Object.assign(document.createElement("input"), { type: "range", min: "-3", max: "3", step: "0.5", value: "0" });
      input.dataset.attribute = name;
      const out = document.createElement("output");
      out.textContent = "0";
      input.addEventListener("input", () => { out.textContent = input.value; });
      input.addEventListener("change", () => { m.edits[name] = parseFloat(input.value); load(); });
      label.append(input, " ", out);
      box.append(label);
    }
    $("music-sliders").hidden = !names.length;
  }

  async function open() {
    m.info = null; m.roll = null; m.infills = []; m.token++;
    select(null);
    $("roll").hidden = true;
    $("audio").hidden = true;
    $("dl-wav").hidden = $("dl-mid").hidden = true;
    try { m.info = await api(base() + "/music-info"); } catch (e) { showError(e.message, e.hint); return; }
    $("music-infill").hidden = !m.info.infill;
    for (const el of document.querySelectorAll(".sequence-music")) el.hidden = m.info.bars !== null;
    sliders(m.info.attributes);
    if (typeof musicEvolve !== "undefined") musicEvolve.reset(m.info.evolve);  // music-evolve.js
  }

  wireRoll();
  $("audio").addEventListener("play", follow);
  $("audio").addEventListener("seeked", redraw);
  $("audio").addEventListener("pause", redraw);
  $("infill-bars").addEventListener("click", infill);
  $("infill-undo").addEventListener("click", undo);
  return { open, compose, drawRoll };
})();
