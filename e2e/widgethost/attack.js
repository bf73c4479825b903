// Posts the message in the fragment to the first frame of the parent page (Ringo's
// widget iframe), from this page's own origin, which is not the host's.
"use strict";
const msg = JSON.parse(decodeURIComponent(location.hash.slice(1)));
parent.frames[0].postMessage(msg, "*");
document.title = "posted";
