"use strict";
// Text by likes, on the text panel (runs whose kind can "sequence" and "text"): start a session from the primer and
// settings above, like or dislike texts, and breed the next generation (genart.evolve_text, through
// /api/runs/RUN/text-sessions/NAME). Uses app.js's $ and state and cards.js's evolvingCards; app.js calls reset()
// when a text run opens.

const textEvolve = (() => {
  const cards = evolvingCards({
    prefix: "text",
    path: "/text-sessions/",
    startMessage: "writing generation 0",
    startBody: () => ({
      prime: $("prime").value, temperature: parseFloat($("temperature").value), length: parseInt($("length").value, 10),
      n: Math.max(2, parseInt($("text-n").value, 10)), seed: parseInt($("text-seed").value, 10) }),
    generationText: (s) => `generation ${s.generation} · temperature ${s.temperature.toFixed(2)}`,
    card(m, s, label) {
      label.title = "lineage (ids, newest first): " + m.lineage.join(" ← ");
      const note = "\n\n-- AI-generated with genart: " + JSON.stringify({ ...s.provenance, index: m.index, origin: m.origin, seed: m.seed });
      const dl = Object.assign(document.createElement("a"), { textContent: "⤓", title: "download text",
        href: URL.createObjectURL(new Blob([m.text + note + "\n"], { type: "text/plain" })) });
      dl.setAttribute("download", `${state.run}-${s.name}-g${s.generation}-${m.index}.txt`);
      const pre = document.createElement("pre");
      pre.textContent = m.text;
      return { download: dl, body: [pre], shown: () => { pre.scrollTop = pre.scrollHeight; } };  // a long text shows its newest part
    },
  });

  return { reset: cards.reset };
})();
