// Loads Ringo's WebAssembly. Everything else happens in Go; this file only shows a
// readable message instead of a blank page when loading fails.
"use strict";
// In widget mode the host may send its first request (capabilities) as soon as the iframe
// loads, before the WebAssembly is running: keep those messages until Go takes over.
window.__ringoInbox = [];
window.__ringoEarly = (ev) => {
  try { window.__ringoInbox.push({ origin: ev.origin, data: JSON.stringify(ev.data) }); } catch (e) { /* not JSON: ignored */ }
};
window.addEventListener("message", window.__ringoEarly);
(async function boot() {
  const status = document.getElementById("boot-status");
  const fail = (msg) => {
    if (status) {
      status.textContent = msg;
      status.setAttribute("role", "alert");
      status.className = "error";
    }
  };
  if (typeof WebAssembly !== "object" || typeof Go !== "function") {
    fail("This browser cannot run Ringo (WebAssembly is not available).");
    return;
  }
  try {
    const go = new Go();
    let result;
    try {
      result = await WebAssembly.instantiateStreaming(fetch("web/ringo.wasm"), go.importObject);
    } catch (e) {
      // A server with the wrong MIME type breaks streaming; fall back to a plain instantiate.
      const r = await fetch("web/ringo.wasm");
      if (!r.ok) throw new Error("could not download ringo.wasm (HTTP " + r.status + ")");
      result = await WebAssembly.instantiate(await r.arrayBuffer(), go.importObject);
    }
    go.run(result.instance).then(() => fail("Ringo stopped. Reload the page to start again."));
  } catch (e) {
    fail("Ringo could not start: " + (e && e.message ? e.message : String(e)));
  }
})();
