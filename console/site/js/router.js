// Navigation by hash (`#/feeds?status=FAILED`), shared by main.js and the pages.

/** Goes to a page (and its filters); re-announces the same hash so a page reloads. */
export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}
