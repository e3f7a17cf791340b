"use strict";
// Music by ear, on the music panel (runs whose kind can "audio" and "latent", e.g. the music VAE): start a session,
// play each candidate (a WAV of that member, and its small piano roll), like or dislike, and breed the next
// generation in the latent space (genart.evolve, through /api/runs/RUN/music-sessions/NAME). Uses app.js's $, api
// and showError, cards.js's evolvingCards and music.js's drawRoll; music.js calls reset(available) when a music run
// opens.

const musicEvolve = (() => {
  const cards = evolvingCards({
    prefix: "music",
    path: "/music-sessions/",
    startMessage: "making generation 0",
    startBody: () => ({ n: Math.max(2, parseInt($("music-n").value, 10) || 6), seed: parseInt($("music-seed").value, 10) || 0 }),
    generationText: (s) => s.numbering,
    card(member, s) {
      const tag = `?g=${s.generation}`;  // a new generation's members are new files
      const src = cards.url(s.name) + `/${member.index}.wav` + tag;
      const dl = Object.assign(document.createElement("a"), { textContent: "⤓", title: "download WAV", href: src + "&download=true" });
      const canvas = Object.assign(document.createElement("canvas"), { width: 280, height: 110 });
      const audio = Object.assign(document.createElement("audio"), { controls: true, preload: "none", src: src });
      return { download: dl, body: [canvas, audio], shown: () => {
        api(cards.url(s.name) + `/${member.index}.json` + tag).then((roll) => musicPanel.drawRoll(canvas, roll))
          .catch((err) => showError(err.message, err.hint));
      } };
    },
  });

  function reset(available) {
    cards.reset();
    $("music-evolve").hidden = !available;
  }

  return { reset };
})();
