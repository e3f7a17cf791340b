"use strict";
// The repaint panel, for runs with a denoiser (capability "denoise"): paint a mask over an image and regenerate the
// painted area (inpainting), or redraw the whole image at a strength (image-to-image). Uses app.js's $, state, base,
// showError and denoiseSettings. The image is always the run's own size: a generated one fetched at that size, or an
// upload fitted by the server (/fit.png), so the mask painted here lines up with what the model sees.

const repaint = (() => {
  const VIEW = 256;  // the canvas's pixels; the server fits the mask to the run's size
  const MAX_UPLOAD = 8 << 20;  // genart.studio.limits.MAX_UPLOAD_BYTES
  const overlay = $("mask"), shown = overlay.getContext("2d");
  const mask = document.createElement("canvas");  // what is sent: white = regenerate, black = keep
  mask.width = mask.height = VIEW;
  const drawn = mask.getContext("2d");
  const r = { source: null, painted: false, last: null, result: null, url: null };

  function update() {
    $("regenerate").disabled = !r.source || !r.painted;
    $("redraw").disabled = !r.source;
  }

  function clear() {
    shown.clearRect(0, 0, VIEW, VIEW);
    drawn.fillStyle = "#000";
    drawn.fillRect(0, 0, VIEW, VIEW);
    r.painted = false;
    update();
  }

  function point(e) {
    const box = overlay.getBoundingClientRect();
    return [(e.clientX - box.left) * VIEW / box.width, (e.clientY - box.top) * VIEW / box.height];
  }

  function stroke(from, to) {
    const width = parseInt($("brush").value, 10);
    for (const [c, colour] of [[shown, "#ff5050"], [drawn, "#fff"]]) {
      Object.assign(c, { strokeStyle: colour, lineWidth: width, lineCap: "round", lineJoin: "round" });
      c.beginPath();
      c.moveTo(from[0], from[1]);
      c.lineTo(to[0], to[1]);
      c.stroke();
    }
    r.painted = true;
    update();
  }

  overlay.addEventListener("pointerdown", (e) => {
    if (!r.source) return;
    overlay.setPointerCapture(e.pointerId);
    r.last = point(e);
    stroke(r.last, r.last);
  });
  overlay.addEventListener("pointermove", (e) => {
    if (!r.last) return;
    const p = point(e);
    stroke(r.last, p);
    r.last = p;
  });
  for (const ev of ["pointerup", "pointercancel"]) overlay.addEventListener(ev, () => { r.last = null; });

  function dataUrl(blob) {
    return new Promise((resolve, reject) => {
      const f = new FileReader();
      f.onload = () => resolve(f.result);
      f.onerror = () => reject(new Error("cannot read the image"));
      f.readAsDataURL(blob);
    });
  }

  async function png(path, options) {
    const res = await fetch(path, options);
    if (!res.ok) {
      const body = await res.json().catch(() => ({ error: "the server answered " + res.status }));
      throw Object.assign(new Error(body.error || "error " + res.status), { hint: body.hint || "" });
    }
    return res.blob();
  }

  function postPng(path, body) {
    return png(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  }

  function busy(text) {
    const p = $("repaint-progress");
    p.textContent = text;
    p.classList.toggle("busy", !!text);
  }

  async function setSource(url) {
    r.source = url;
    $("source").src = url;
    $("source").hidden = false;
    $("repaint").open = true;
    clear();
  }

  async function use(src) {  // a generated image, fetched at the run's size
    showError("");
    try { await setSource(await dataUrl(await png(src))); } catch (e) { showError(e.message, e.hint); }
  }

  async function upload(file) {
    showError("");
    if (!file) return;
    if (file.size > MAX_UPLOAD) { showError(`${file.name} is larger than 8 MB`, "choose a smaller image"); return; }
    busy("fitting the image to the run");
    try {
      const fitted = await postPng(base() + "/fit.png", { image: await dataUrl(file) });
      await setSource(await dataUrl(fitted));
      busy("");
    } catch (e) { showError(e.message, e.hint); busy(""); }
  }

  async function run(path, body, what) {
    showError("");
    busy(what);
    $("regenerate").disabled = $("redraw").disabled = true;
    try {
      const blob = await postPng(base() + path, { image: r.source, seed: parseInt($("repaint-seed").value || "0", 10),
                                                  cls: $("cls").value || null, ...denoiseSettings(), ...body });
      if (r.url) URL.revokeObjectURL(r.url);
      r.url = URL.createObjectURL(blob);
      r.result = await dataUrl(blob);
      $("result").src = r.url;
      $("result").hidden = $("keep").hidden = $("dl-result").hidden = false;
      $("dl-result").href = r.url;
      $("dl-result").setAttribute("download", `${state.run}${path.replace(".png", "")}-${$("repaint-seed").value}.png`.replace("/", "-"));
      busy("");
    } catch (e) { showError(e.message, e.hint); busy(""); } finally { update(); }
  }

  function reset() {
    r.source = r.result = null;
    $("source").hidden = $("result").hidden = $("keep").hidden = $("dl-result").hidden = true;
    $("upload").value = "";
    busy("");
    clear();
  }

  $("upload").addEventListener("change", () => upload($("upload").files[0]));
  $("clear-mask").addEventListener("click", clear);
  $("regenerate").addEventListener("click", () => run("/inpaint.png", { mask: mask.toDataURL("image/png") }, "regenerating the masked area"));
  $("redraw").addEventListener("click", () => run("/redraw.png", { strength: parseFloat($("strength").value) }, "redrawing"));
  $("keep").addEventListener("click", () => { if (r.result) setSource(r.result); });
  bindRange("brush", (v) => v);
  bindRange("strength", (v) => v);
  return { reset, use };
})();
