"use strict";
// genart studio: plain JavaScript, no build step, no network beyond this server.

const $ = (id) => document.getElementById(id);
const state = { run: null, info: null, latent: false, denoise: false, mode: "seeds", session: null, marks: {}, picks: [], token: 0 };
// a run's kind is known by what it can do (genart.core.registry's capabilities), never by its name
const CAP = { IMAGES: "images", LATENT: "latent", SEQUENCE: "sequence", TEXT: "text", AUDIO: "audio", DENOISE: "denoise" };

function can(info, ...caps) { return caps.every((c) => (info.capabilities || []).includes(c)); }

function showError(message, hint) {
  const box = $("error");
  if (!message) { box.hidden = true; return; }
  box.textContent = message + (hint ? " — " + hint : "");
  box.hidden = false;
}

async function api(path, options) {
  const res = await fetch(path, options);
  const body = await res.json().catch(() => ({ error: "the server answered " + res.status }));
  if (!res.ok) { throw Object.assign(new Error(body.error || "error " + res.status), { hint: body.hint || "" }); }
  return body;
}

function post(path, body) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

function base() { return "/api/runs/" + encodeURIComponent(state.run); }

// --- runs ---------------------------------------------------------------------------------------

async function loadRuns() {
  const list = $("runs");
  try {
    const { runs } = await api("/api/runs");
    list.replaceChildren();
    if (!runs.length) { list.innerHTML = '<li class="note">no runs here yet: train one with genart train</li>'; }
    for (const r of runs) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.run = r.name;
      b.textContent = r.name;
      const small = document.createElement("small");
      const figs = (r.figures || []).slice(0, 2).map((f) => f.label + " " + fmt(f.model)).join("; ");
      small.textContent = r.error ? "unreadable: " + r.error : `${r.kind} · step ${r.step} · ${r.data}` + (figs ? " · " + figs : "");
      b.append(small);
      b.addEventListener("click", () => openRun(r.name));
      li.append(b);
      list.append(li);
    }
  } catch (e) { showError(e.message, e.hint); }
}

function fmt(v) { return typeof v === "number" ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)) : String(v); }

async function openRun(name) {
  showError("");
  for (const b of document.querySelectorAll("#runs button")) b.classList.toggle("active", b.dataset.run === name);
  for (const id of ["welcome", "image-page", "text-page", "music-page"]) $(id).hidden = true;
  state.run = name;
  $("welcome").hidden = false;
  $("welcome").innerHTML = '<p class="busy">loading the model</p>';
  let info;
  try { info = await api(base()); } catch (e) { $("welcome").innerHTML = ""; showError(e.message, e.hint); return; }
  if (state.run !== name) return;
  state.info = info;
  $("welcome").hidden = true;
  const facts = `${info.kind} run · step ${info.step} · ${info.data}`;
  if (can(info, CAP.IMAGES)) {
    $("image-title").textContent = name;
    $("image-facts").textContent = facts + (can(info, CAP.LATENT) ? " · directions: " + info.method : "");
    setupImagePage(info);
    $("image-page").hidden = false;
    renderGrid();
  } else if (can(info, CAP.SEQUENCE, CAP.TEXT)) {
    $("text-title").textContent = name;
    $("text-facts").textContent = facts;
    $("texts").replaceChildren();
    if (typeof textEvolve !== "undefined") textEvolve.reset();  // text-evolve.js: evolution by likes
    $("text-page").hidden = false;
  } else if (can(info, CAP.AUDIO)) {
    $("music-title").textContent = name;
    $("music-facts").textContent = facts;
    $("music-page").hidden = false;
    if (typeof musicPanel !== "undefined") musicPanel.open(info);  // music.js: piano roll, infills, sliders
  } else {
    $("welcome").hidden = false;
    $("welcome").innerHTML = "";
    showError(`the studio has no panel for ${name}`, "its kind can: " + ((info.capabilities || []).join(", ") || "nothing listed"));
  }
}

// --- images -------------------------------------------------------------------------------------

function setupImagePage(info) {
  const latent = can(info, CAP.LATENT);
  state.latent = latent;
  for (const el of document.querySelectorAll("#image-page .latent-only")) el.hidden = !latent;
  if (!latent) $("mix").value = "";
  setupDenoise(info);
  const cls = $("cls");
  cls.replaceChildren(new Option("random", ""));
  for (const c of info.classes) cls.append(new Option(c, c));
  $("cls-label").hidden = !info.classes.length;
  const dirs = $("directions");
  dirs.replaceChildren();
  for (const d of info.directions || []) {
    const label = document.createElement("label");
    label.textContent = `${d.index} (${(100 * d.explained).toFixed(1)}%) `;
    const input = Object.assign(document.createElement("input"), { type: "range", min: -5, max: 5, step: 0.1, value: 0 });
    input.id = "dir-" + d.index;
    input.className = "direction";
    const out = document.createElement("output");
    out.id = "dir-" + d.index + "-out";
    out.textContent = "0";
    input.addEventListener("input", () => { out.textContent = input.value; });
    input.addEventListener("change", () => { if (state.mode === "seeds") renderGrid(); });
    label.append(input, out);
    dirs.append(label);
  }
  state.mode = "seeds";
  state.session = null;
  $("mode").textContent = "exploring seeds";
  $("back").hidden = true;
  $("generation").textContent = "";
  clearPicks();
}

// runs with a denoiser: sampling settings for every image the panel renders, and the repaint panel (repaint.js)
function setupDenoise(info) {
  state.denoise = can(info, CAP.DENOISE);
  for (const el of document.querySelectorAll("#image-page .denoise-only")) el.hidden = !state.denoise;
  if (!state.denoise) return;
  const d = info.denoise || {};
  $("steps").value = String(Math.min(64, Math.max(1, d.sample_steps || 16)));
  $("steps-out").textContent = $("steps").value;
  $("sampler").value = d.sampler || "dpm";
  $("guidance-label").hidden = !info.classes.length;
  $("guidance").value = String(d.guidance ?? 1);
  $("guidance-out").textContent = $("guidance").value;
  if (typeof repaint !== "undefined") repaint.reset(info);
}

function denoiseSettings() {
  if (!state.denoise) return {};
  const out = { steps: parseInt($("steps").value, 10), sampler: $("sampler").value };
  if (state.info.classes.length) out.guidance = parseFloat($("guidance").value);
  return out;
}

function params(extra) {
  const p = new URLSearchParams();
  p.set("seed", $("seed").value);
  const t = parseFloat($("truncation").value);
  if (t > 0) p.set("truncation", String(t));
  if ($("cls").value) p.set("cls", $("cls").value);
  const edits = [...document.querySelectorAll("input.direction")]
    .filter((i) => parseFloat(i.value) !== 0).map((i) => i.id.slice(4) + ":" + i.value);
  if (edits.length) p.set("edits", edits.join(","));
  if ($("mix").value !== "") p.set("mix", $("mix").value);
  for (const [k, v] of Object.entries({ ...denoiseSettings(), ...(extra || {}) })) p.set(k, v);
  return p;
}

function renderGrid() {
  const token = ++state.token;
  const grid = $("grid");
  grid.replaceChildren();
  state.marks = {};
  clearPicks();
  const items = [];
  if (state.mode === "seeds") {
    const n = parseInt($("n").value, 10), seed = parseInt($("seed").value, 10);
    for (let i = 0; i < n; i++) {
      items.push({ label: "seed " + (seed + i), ref: String(seed + i),
                   src: base() + "/image.png?" + params({ seed: seed + i }) });
    }
    $("dl-grid").href = base() + "/grid.png?" + params({ n: n, download: "true" });
  } else {
    const s = state.session;
    const sess = encodeURIComponent(s.name);
    for (const m of s.members) {
      const settings = new URLSearchParams(denoiseSettings());
      items.push({ label: m.origin, ref: `s:${s.name}:${m.index}`,
                   src: `${base()}/sessions/${sess}/${m.index}.png?g=${s.generation}` + (state.denoise ? "&" + settings : "") });
    }
    $("dl-grid").href = items.length ? items[0].src + "&download=true" : "#";
  }
  let loaded = 0;
  const progress = $("progress");
  progress.textContent = `generating 0/${items.length}`;
  progress.classList.add("busy");
  items.forEach((item, i) => {
    const fig = document.createElement("figure");
    fig.className = "cell";
    fig.dataset.index = i;
    fig.dataset.ref = item.ref;
    const img = new Image();
    img.alt = item.label;
    const done = () => {
      if (token !== state.token) return;
      loaded += 1;
      progress.textContent = loaded < items.length ? `generating ${loaded}/${items.length}` : `${items.length} images`;
      progress.classList.toggle("busy", loaded < items.length);
      grid.dataset.loaded = String(loaded);
    };
    img.addEventListener("load", () => { fig.classList.add("loaded"); done(); });
    img.addEventListener("error", () => { fig.classList.add("failed"); done(); reportImageError(item.src); });
    if (state.latent) img.addEventListener("click", () => pick(fig));
    img.src = item.src;
    const cap = document.createElement("figcaption");
    const num = document.createElement("span");
    num.textContent = `${i} · ${item.label}`;
    cap.append(num);
    if (state.latent) {  // liking breeds the next generation in the latent space
      cap.append(...likeButtons(state, fig, i));
    }
    if (state.denoise && typeof repaint !== "undefined") {  // repaint this image (inpainting, image-to-image)
      const edit = Object.assign(document.createElement("button"), { type: "button", textContent: "✎", title: "repaint" });
      edit.className = "repaint";
      edit.addEventListener("click", () => repaint.use(item.src + "&size=" + state.info.denoise.height));
      cap.append(edit);
    }
    const dl = Object.assign(document.createElement("a"), { textContent: "⤓", title: "download PNG", href: item.src + "&download=true" });
    dl.setAttribute("download", "");
    cap.append(dl);
    fig.append(img, cap);
    grid.append(fig);
  });
  grid.dataset.loaded = "0";
  grid.dataset.count = String(items.length);
}

async function reportImageError(src) {
  try { await api(src); } catch (e) { showError(e.message, e.hint); }
}

// likes and dislikes, kept in owner.marks (index -> "liked" or "disliked"): the image grid here, and the text and music
// cards (cards.js)
function mark(owner, el, i, how) {
  const now = owner.marks[i] === how ? undefined : how;
  if (now) owner.marks[i] = now; else delete owner.marks[i];
  el.classList.toggle("liked", now === "liked");
  el.classList.toggle("disliked", now === "disliked");
}

function marked(owner, how) { return Object.entries(owner.marks).filter(([, v]) => v === how).map(([k]) => parseInt(k, 10)); }

function button(text, title, cls, onClick) {
  const b = Object.assign(document.createElement("button"), { type: "button", textContent: text, title: title });
  b.className = cls;
  b.addEventListener("click", onClick);
  return b;
}

function likeButtons(owner, el, i) {
  return [button("♥", "like", "like", () => mark(owner, el, i, "liked")),
          button("✕", "dislike", "dislike", () => mark(owner, el, i, "disliked"))];
}

async function evolve() {
  showError("");
  const like = marked(state, "liked"), dislike = marked(state, "disliked");
  if (!like.length && !dislike.length) { showError("mark some images liked (♥) or disliked (✕) first"); return; }
  const name = $("session").value.trim();
  const sess = base() + "/sessions/" + encodeURIComponent(name);
  $("evolve").disabled = true;
  $("progress").textContent = "breeding the next generation";
  $("progress").classList.add("busy");
  try {
    if (state.mode !== "session" || !state.session || state.session.name !== name) {
      const t = parseFloat($("truncation").value);
      await post(sess + "/start", { n: parseInt($("n").value, 10), seed: parseInt($("seed").value, 10),
                                    truncation: t > 0 ? t : null, cls: $("cls").value || null });
    }
    state.session = await post(sess + "/evolve", { like, dislike });
    state.mode = "session";
    $("mode").textContent = "evolving session " + name;
    $("back").hidden = false;
    $("generation").textContent = "generation " + state.session.generation + ` (step ${state.session.step})`;
    renderGrid();
  } catch (e) {
    showError(e.message, e.hint);
    $("progress").classList.remove("busy");
  } finally { $("evolve").disabled = false; }
}

function clearPicks() {
  state.picks = [];
  $("picked").textContent = "A: – B: –";
  $("animate").disabled = true;
}

function pick(fig) {
  state.picks = [...state.picks, fig].slice(-2);
  for (const f of document.querySelectorAll(".cell")) f.classList.remove("pick-a", "pick-b");
  state.picks.forEach((f, i) => f.classList.add(i ? "pick-b" : "pick-a"));
  const [a, b] = state.picks.map((f) => f.dataset.index);
  $("picked").textContent = `A: ${a ?? "–"} B: ${b ?? "–"}`;
  $("animate").disabled = state.picks.length < 2;
}

function animate() {
  const [a, b] = state.picks.map((f) => f.dataset.ref);
  const src = base() + "/walk.gif?" + params({ a, b, frames: 24, fps: 12 });
  const img = $("walk");
  $("progress").textContent = "making the animation";
  $("progress").classList.add("busy");
  img.onload = () => { $("progress").textContent = "animation ready"; $("progress").classList.remove("busy"); };
  img.onerror = () => { $("progress").classList.remove("busy"); reportImageError(src); };
  img.src = src;
  img.hidden = false;
  $("dl-gif").href = src + "&download=true";
  $("dl-gif").hidden = false;
}

// --- text and music -------------------------------------------------------------------------------

async function writeText() {
  showError("");
  const progress = $("text-progress");
  progress.textContent = "generating";
  progress.classList.add("busy");
  $("write").disabled = true;
  try {
    const res = await post(base() + "/text", { prime: $("prime").value, temperature: parseFloat($("temperature").value),
      length: parseInt($("length").value, 10), n: parseInt($("text-n").value, 10), seed: parseInt($("text-seed").value, 10) });
    const box = $("texts");
    box.replaceChildren();
    res.texts.forEach((t, i) => {
      const pre = document.createElement("pre");
      pre.textContent = t;
      const use = Object.assign(document.createElement("button"), { type: "button", textContent: "continue from this" });
      use.addEventListener("click", () => { $("prime").value = pre.textContent.slice(-1000); $("text-seed").value = String(parseInt($("text-seed").value, 10) + 1); });
      const blob = new Blob([t + "\n\n-- AI-generated with genart: " + JSON.stringify(res.provenance) + "\n"], { type: "text/plain" });
      const dl = Object.assign(document.createElement("a"), { textContent: "download text", href: URL.createObjectURL(blob) });
      dl.setAttribute("download", `${state.run}-${i}.txt`);
      box.append(pre, use, document.createTextNode(" "), dl);
    });
    progress.textContent = res.texts.length + " candidates";
  } catch (e) { showError(e.message, e.hint); progress.textContent = ""; }
  finally { progress.classList.remove("busy"); $("write").disabled = false; }
}

function compose() {
  if (typeof musicPanel !== "undefined") return musicPanel.compose();  // music.js: the roll too
  showError("");
  const p = new URLSearchParams({ seed: $("music-seed").value, bars: $("bars").value,
                                  temperature: $("music-temperature").value, notes: $("notes").value });
  const audio = $("audio");
  const src = base() + "/music.wav?" + p;
  $("music-progress").textContent = "composing";
  $("music-progress").classList.add("busy");
  audio.oncanplay = () => { $("music-progress").textContent = "ready"; $("music-progress").classList.remove("busy"); };
  audio.onerror = () => { $("music-progress").classList.remove("busy"); reportImageError(src); };
  audio.src = src;
  audio.hidden = false;
  $("dl-wav").href = src + "&download=true";
  $("dl-mid").href = base() + "/music.mid?" + p;
  $("dl-wav").hidden = $("dl-mid").hidden = false;
}

// --- wiring ---------------------------------------------------------------------------------------

function bindRange(id, fmtValue, onChange) {
  const input = $(id), out = $(id + "-out");
  input.addEventListener("input", () => { out.textContent = fmtValue(input.value); });
  if (onChange) input.addEventListener("change", onChange);
}

function reseed() { if (state.mode === "seeds") renderGrid(); }
bindRange("seed", (v) => v, reseed);
bindRange("truncation", (v) => (parseFloat(v) > 0 ? v : "off"), reseed);
bindRange("temperature", (v) => v);
bindRange("music-temperature", (v) => v);
bindRange("steps", (v) => v, () => renderGrid());
bindRange("guidance", (v) => v, () => renderGrid());
$("sampler").addEventListener("change", () => renderGrid());
$("n").addEventListener("change", reseed);
$("cls").addEventListener("change", reseed);
$("mix").addEventListener("change", reseed);
$("evolve").addEventListener("click", evolve);
$("back").addEventListener("click", () => {
  state.mode = "seeds"; state.session = null;
  $("mode").textContent = "exploring seeds"; $("back").hidden = true; $("generation").textContent = "";
  renderGrid();
});
$("animate").addEventListener("click", animate);
$("write").addEventListener("click", writeText);
$("compose").addEventListener("click", compose);
loadRuns();
