// gotk web UI: keep <main> current over Server-Sent Events, and relative times fresh.
// No framework and no external code; the server renders every byte of markup.
"use strict";

(function () {
  const main = document.getElementById("main");
  const status = document.getElementById("live-status");

  function age(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
      if (seconds >= size) return Math.floor(seconds / size) + unit + " ago";
    }
    return seconds + "s ago";
  }

  function refreshTimes(root) {
    const now = Date.now();
    for (const el of root.querySelectorAll("time[datetime]")) {
      const at = Date.parse(el.getAttribute("datetime"));
      if (!Number.isNaN(at)) el.textContent = age((now - at) / 1000);
    }
  }

  function editing() {
    const active = document.activeElement;
    return active && main.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
  }

  let pending = null;
  function swap(html) {
    if (editing()) {
      pending = html;
      return;
    }
    pending = null;
    const open = new Set();
    main.querySelectorAll("details[open]").forEach((d, i) => open.add(i));
    main.innerHTML = html;
    main.querySelectorAll("details").forEach((d, i) => { if (open.has(i)) d.open = true; });
    refreshTimes(main);
    main.dataset.updated = String(Date.now());
    main.dispatchEvent(new CustomEvent("gotk:updated"));
  }
  document.addEventListener("focusout", () => {
    setTimeout(() => { if (pending !== null && !editing()) swap(pending); }, 0);
  });

  const live = main && main.dataset.live;
  if (live && "EventSource" in window) {
    let source = null;
    let url = live;
    const connect = () => {
      source = new EventSource(url);
      source.addEventListener("open", () => {
        status.className = "live";
        status.textContent = "live";
      });
      source.addEventListener("error", () => {
        status.className = "offline";
        status.textContent = "reconnecting…";
      });
      source.addEventListener("main", (event) => {
        const newline = event.data.indexOf("\n");
        const version = event.data.slice(0, newline);
        // A reconnect resumes from the last version shown, not the page's first one.
        url = live.replace(/([?&]v=)[^&]*/, "$1" + encodeURIComponent(version));
        main.dataset.version = version;
        swap(event.data.slice(newline + 1));
      });
    };
    connect();
    window.addEventListener("pagehide", () => source && source.close());
  }
  if (main) {
    refreshTimes(main);
    setInterval(() => refreshTimes(main), 15000);
  }
})();
