"use strict";
// A span of a generated text written anew, on the text panel (runs trained with --fim): select text inside one of
// the candidates, then "regenerate the selection": the text before and after it go to /api/runs/RUN/text/infill
// (genart.studio.sequences) and the answer replaces the candidate, its new middle highlighted (<mark>). Uses app.js's
// $, base, post and showError.

(() => {
  let count = 0;

  function offset(pre, node, at) {  // characters of pre's text before (node, at)
    const r = document.createRange();
    r.selectNodeContents(pre);
    r.setEnd(node, at);
    return r.toString().length;
  }

  function selected() {
    const sel = window.getSelection();
    if (!sel || !sel.rangeCount || sel.isCollapsed) return null;
    const range = sel.getRangeAt(0);
    const pre = range.commonAncestorContainer.nodeType === Node.ELEMENT_NODE && range.commonAncestorContainer.tagName === "PRE"
      ? range.commonAncestorContainer : range.commonAncestorContainer.parentElement?.closest("#texts pre");
    if (!pre || !$("texts").contains(pre)) return null;
    return { pre, a: offset(pre, range.startContainer, range.startOffset), b: offset(pre, range.endContainer, range.endOffset) };
  }

  function show(pre, text, a, b) {
    const mark = document.createElement("mark");
    mark.textContent = text.slice(a, b);
    pre.replaceChildren(document.createTextNode(text.slice(0, a)), mark, document.createTextNode(text.slice(b)));
  }

  async function regenerate() {
    showError("");
    const s = selected();
    if (!s) { showError("select a span inside one of the texts first", "drag across the words to regenerate"); return; }
    const text = s.pre.textContent, progress = $("text-infill-progress");
    progress.textContent = "writing the middle";
    progress.classList.add("busy");
    $("text-infill").disabled = true;
    try {
      const res = await post(base() + "/text/infill", {
        before: text.slice(0, s.a), after: text.slice(s.b), temperature: parseFloat($("temperature").value),
        length: Math.min(2000, Math.max(8, 2 * (s.b - s.a))), seed: (parseInt($("text-seed").value, 10) || 0) + ++count });
      const [a, b] = res.middles[0];
      show(s.pre, res.texts[0], a, b);
      progress.textContent = `${b - a} new characters`;
    } catch (e) { showError(e.message, e.hint); progress.textContent = ""; }
    finally { progress.classList.remove("busy"); $("text-infill").disabled = false; }
  }

  $("text-infill").addEventListener("click", regenerate);
})();
