// A Matrix client stand-in for the end-to-end suite: it hosts Ringo in an iframe with
// matrix-widget-api's ClientWidgetApi (as Element Web does) and a WidgetDriver backed by
// the real test homeserver. Parameters come from the fragment:
//   hs, token, user, device, room, widget (Ringo's URL template), deny ("send" denies
//   every send capability).
"use strict";
(function () {
  const q = new URLSearchParams(location.hash.slice(1));
  const hs = q.get("hs"), token = q.get("token"), user = q.get("user"), device = q.get("device"), room = q.get("room");
  const deny = q.get("deny") || "";
  const status = document.getElementById("host-status");
  const log = (m) => { console.log("host: " + m); };
  const mx = window.mxwidgets;
  window.__host = { sent: [], toDevice: [], approved: [], requested: [], onScreen: [] };

  async function api(method, path, body) {
    const r = await fetch(hs + path, {
      method, headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const j = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(path.split("?")[0] + ": HTTP " + r.status + " " + (j.errcode || ""));
    return j;
  }
  let txn = 0;
  const next = () => "host" + Date.now() + "-" + (txn++);

  class Driver extends mx.WidgetDriver {
    async validateCapabilities(requested) {
      const req = Array.from(requested);
      window.__host.requested = req;
      const ok = req.filter((c) => !(deny === "send" && (c.includes(".send.event:") || c.includes(".send.to_device:"))));
      window.__host.approved = ok;
      return new Set(ok);
    }
    async sendEvent(eventType, content, stateKey, roomId) {
      const rid = roomId || room;
      window.__host.sent.push(eventType);
      const path = stateKey === null || stateKey === undefined
        ? `/_matrix/client/v3/rooms/${encodeURIComponent(rid)}/send/${encodeURIComponent(eventType)}/${next()}`
        : `/_matrix/client/v3/rooms/${encodeURIComponent(rid)}/state/${encodeURIComponent(eventType)}/${encodeURIComponent(stateKey)}`;
      const r = await api("PUT", path, content);
      return { roomId: rid, eventId: r.event_id };
    }
    async sendToDevice(eventType, encrypted, contentMap) {
      window.__host.toDevice.push(eventType);
      await api("PUT", `/_matrix/client/v3/sendToDevice/${encodeURIComponent(eventType)}/${next()}`, { messages: contentMap });
    }
    async readRoomEvents(eventType, msgtype, limit, roomIds) {
      const r = await api("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/messages?dir=b&limit=${limit || 50}`);
      return (r.chunk || []).filter((e) => e.type === eventType).map((e) => ({ ...e, room_id: room }));
    }
    async readStateEvents(eventType, stateKey, limit, roomIds) {
      const r = await api("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/state`);
      return (r || []).filter((e) => e.type === eventType && (stateKey === undefined || stateKey === null || e.state_key === stateKey))
        .map((e) => ({ ...e, room_id: room }));
    }
    async *getTurnServers() {
      for (;;) {
        try {
          const t = await api("GET", "/_matrix/client/v3/voip/turnServer");
          if (t.uris && t.uris.length) yield { uris: t.uris, username: t.username, password: t.password };
          await new Promise((r) => setTimeout(r, Math.max(60, (t.ttl || 300) * 0.9) * 1000));
        } catch (e) { log("turn: " + e.message); return; }
      }
    }
  }

  const widget = new mx.Widget({
    id: "ringo", creatorUserId: user, type: "m.custom", waitForIframeLoad: true,
    url: q.get("widget"), data: {},
  });
  const iframe = document.createElement("iframe");
  iframe.allow = "microphone; camera; display-capture; autoplay";
  iframe.width = "640"; iframe.height = "480";
  iframe.src = widget.getCompleteUrl({
    widgetRoomId: room, currentUserId: user, userDisplayName: user, userHttpAvatarUrl: "",
    clientId: "ringo-test-host", clientTheme: "light", clientLanguage: "en", deviceId: device, baseUrl: hs,
  });
  window.__widgetUrl = iframe.src;
  document.getElementById("frame").appendChild(iframe); // ClientWidgetApi needs a live iframe
  const capi = new mx.ClientWidgetApi(widget, iframe, new Driver());
  window.__capi = capi;
  capi.on("ready", () => { status.textContent = "ready"; log("widget ready"); });
  // The widget asks to stay visible during a call (m.always_on_screen).
  capi.on("action:set_always_on_screen", (ev) => {
    ev.preventDefault();
    window.__host.onScreen.push(!!(ev.detail.data && ev.detail.data.value));
    capi.transport.reply(ev.detail, {});
  });
  status.textContent = "loading";

  // Feed the room's timeline and to-device messages to the widget, as a client does.
  (async function sync() {
    let since = "";
    for (;;) {
      try {
        const r = await api("GET", `/_matrix/client/v3/sync?timeout=${since ? 30000 : 0}${since ? "&since=" + encodeURIComponent(since) : ""}`);
        const first = !since;
        since = r.next_batch;
        const joined = (r.rooms && r.rooms.join && r.rooms.join[room]) || null;
        if (joined && !first) {
          for (const ev of (joined.timeline && joined.timeline.events) || []) {
            ev.room_id = room;
            await capi.feedEvent(ev, room).catch((e) => log("feedEvent: " + e));
          }
        }
        for (const ev of (r.to_device && r.to_device.events) || []) {
          await capi.feedToDevice(ev, false).catch((e) => log("feedToDevice: " + e));
        }
      } catch (e) {
        log("sync: " + e.message);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();
})();
