// The session cookie's hand-over (ui/web_session.py, docs/security.md): loaded as the body of an
// st.components.v2 component; runs in the app's page, same origin.
//
// data = {action: "set", code, url} after a local sign-in: the server swaps the single-use code
// for an HttpOnly cookie (this script never sees the cookie's value);
// data = {action: "clear", url} after a sign-out or a refused cookie: the server expires it.
// Each hand-over runs once per page (a rerun mounts the component again with the same data).
// The outcome is left on <html data-gridpulse-session="set|clear|refused|failed"> for tests.
export default function (component) {
  const data = component.data || {};
  if (!data.url || (data.action !== "set" && data.action !== "clear")) return;
  const done = (window.__gridpulseSession = window.__gridpulseSession || {});
  const key = data.action + ":" + (data.code || "");
  if (done[key]) return;
  done[key] = true;
  const body = data.action === "set" ? { action: "set", code: String(data.code || "") } : { action: "clear" };
  fetch(data.url, {
    method: "POST",
    credentials: "same-origin",
    cache: "no-store",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  })
    .then((response) => {
      document.documentElement.dataset.gridpulseSession = response.ok ? data.action : "refused";
    })
    .catch(() => {
      document.documentElement.dataset.gridpulseSession = "failed";
    });
}
