// box-widget: the connection form's browser side (an anywidget ES module, no build step).
// Nothing secret is kept here: the client secret is sent to the kernel as a message and the
// field is cleared; tokens never reach the browser (only their last 4 characters).
// PROTOCOL (routes, channel, message types) is prepended by the kernel from box_widget/protocol.py.
/* global PROTOCOL */

const KEY_PLACES = { env: "the BOX_WIDGET_KEY variable", keyring: "the OS keyring",
  file: "a key file next to the vault" };
const REGISTER_HINT = "Register exactly this URL in the Box Developer Console (your app, " +
  "Configuration, OAuth 2.0 Redirect URIs).";
const HUB_HINT = "Your hub's one Redirect URL, registered with its Box app by the hub's " +
  "administrators: nothing to do here.";

/** The Jupyter page's settings (base URL, token), from the page itself. */
function pageConfig() {
  const el = document.getElementById("jupyter-config-data");
  if (el) {
    try {
      return JSON.parse(el.textContent || "{}");
    } catch (e) {
      /* fall through */
    }
  }
  return {};
}

/** The Jupyter base URL ("/", "/user/alice/", ...), ending with a slash. */
function baseUrl() {
  const configured = pageConfig().baseUrl;
  if (configured) return configured.endsWith("/") ? configured : configured + "/";
  const m = location.pathname.match(/^(.*?\/)(lab|notebooks|tree|doc|edit|voila)(\/|$)/);
  return m ? m[1] : "/";
}

/** box-widget's status answer from this Jupyter server, or null without the extension. */
async function serverExtension() {
  if (!/^https?:$/.test(location.protocol)) return null;
  const headers = {};
  const token = pageConfig().token;
  if (token) headers.Authorization = "token " + token;
  try {
    const answer = await fetch(baseUrl() + PROTOCOL.statusPath, {
      credentials: "same-origin",
      headers,
    });
    return answer.ok ? await answer.json() : null;
  } catch (e) {
    return null;
  }
}

/** A DOM element with attributes and children. */
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A labelled row: the label targets ``control`` (shown inside ``shown``, e.g. with a button). */
function field(label, control, id, hint, shown = control) {
  control.id = id;
  return h("div", { class: "bw-row" }, h("label", { for: id }, label), shown,
    hint ? h("div", { class: "bw-hint" }, hint) : "");
}

function timeLeft(expiresAt) {
  const left = Math.round(expiresAt - Date.now() / 1000);
  if (left <= 0) return "expired (it refreshes on the next call)";
  const minutes = Math.floor(left / 60);
  return "expires in " + (minutes ? minutes + " min" : (left % 60) + " s");
}

// --- the parts of the form: each builds its elements --------------------------------------------

function credentialsPart(uid) {
  const clientId = h("input", { "data-testid": "client-id", type: "text", autocomplete: "off",
    spellcheck: "false", placeholder: "from the Box Developer Console" });
  const secret = h("input", { "data-testid": "client-secret", type: "password",
    autocomplete: "off", placeholder: "paste, then press Enter" });
  const rows = [
    field("Connection Type", h("input", { type: "text", readonly: true, value: "OAuth 2.0" }),
      uid + "type"),
    field("Client ID", clientId, uid + "client-id"),
    field("Client Secret", secret, uid + "secret"),
  ];
  return { clientId, secret, rows };
}

function redirectPart(uid) {
  const redirect = h("input", { "data-testid": "redirect-uri", type: "text", readonly: true,
    placeholder: "the redirect URI registered for your Box app" });
  const copy = h("button", { "data-testid": "copy-redirect", type: "button",
    title: "Copy the Redirect URL" }, "Copy");
  const row = field("Redirect URL", redirect, uid + "redirect", REGISTER_HINT,
    h("div", { class: "bw-inline" }, redirect, copy));
  return { redirect, copy, hint: row.querySelector(".bw-hint"), row };
}

function tokenPart(uid) {
  // <output>: a labelable element; not a live region (its countdown changes every second).
  const token = h("output", { "data-testid": "token", class: "bw-token", "aria-live": "off" });
  const generate = h("button", { "data-testid": "generate", type: "button",
    class: "bw-primary", "aria-label": "Generate access token" }, "Generate");
  const openLink = h("a", { "data-testid": "open-link", target: "_blank", rel: "opener",
    hidden: true }, "The browser blocked the Box window: open it here");
  const row = field("Access Token", token, uid + "token", "",
    h("div", { class: "bw-inline" }, token, generate));
  return { token, generate, openLink, rows: [row, openLink] };
}

function headlessPart(uid) {
  const authLink = h("a", { "data-testid": "auth-link", target: "_blank",
    rel: "noopener" }, "Open Box's sign-in page");
  const paste = h("input", { "data-testid": "paste-address", type: "text", autocomplete: "off",
    placeholder: "the address your browser landed on after Box" });
  const complete = h("button", { "data-testid": "complete", type: "button" }, "Complete");
  const box = h("div", { class: "bw-headless", hidden: true },
    h("p", {}, "This notebook has no Jupyter server extension to receive Box's answer. ",
      authLink, ", grant access, then paste the address your browser lands on (it may show ",
      "an error page; that is fine) within 30 seconds:"),
    field("Address", paste, uid + "paste"), h("div", { class: "bw-buttons" }, complete));
  return { authLink, paste, complete, box };
}

function actionsPart() {
  const test = h("button", { "data-testid": "test", type: "button" }, "Test Connection");
  const disconnect = h("button", { "data-testid": "disconnect", type: "button" }, "Disconnect");
  const status = h("div", { "data-testid": "status", class: "bw-status", role: "status",
    "aria-live": "polite" });
  const keySource = h("div", { "data-testid": "key-source", class: "bw-hint" });
  return { test, disconnect, status, keySource,
    rows: [h("div", { class: "bw-buttons" }, test, disconnect), status, keySource] };
}

// --- showing the model ---------------------------------------------------------------------------

/** Whether the hub's box-widget service keeps this connection (and the app's secret). */
function keptByHub(model) {
  return model.get("key_source") === "hub";
}

/** Whether the Jupyter server holds this app's secret (an administrator's Box app). */
function secretOnServer(model) {
  return keptByHub(model) || (!model.get("secret_set") &&
    Boolean(model.get("server_client_id")) &&
    model.get("server_client_id") === model.get("client_id"));
}

/** Whether a connection is saved (a token hint; on a hub, where the service shows none,
 * connected), even after an error: the token is kept. */
function saved(model) {
  return Boolean(model.get("token_hint")) || (keptByHub(model) && model.get("expires_at") > 0);
}

/** The status line when the kernel has not said anything: what to do next. */
function nextStep(model, url) {
  if (!model.get("client_id")) return "Enter the Client ID and Client Secret of your Box app.";
  if (!model.get("secret_set") && !secretOnServer(model)) {
    return "Enter the Client Secret, then press Enter.";
  }
  if (!model.get("redirect_uri") && !keptByHub(model)) {
    return "Enter the Redirect URL registered for your Box app.";
  }
  if (!url) return "Preparing…";
  return model.get("mode") === "headless" ? "Ready: open Box's sign-in page (the link above)."
    : "Ready: click Generate.";
}

function showCredentials(model, { clientId, secret }) {
  if (document.activeElement !== clientId) clientId.value = model.get("client_id");
  secret.placeholder = model.get("secret_set")
    ? "set (kept in the kernel, not in the notebook)"
    : keptByHub(model) ? "held by your hub (its box-widget service)"
      : secretOnServer(model) ? "held by the Jupyter server (set by your administrator)"
        : "paste, then press Enter";
  secret.readOnly = keptByHub(model);
}

function showRedirect(model, { redirect, hint }) {
  if (document.activeElement !== redirect) redirect.value = model.get("redirect_uri") || "";
  redirect.readOnly = model.get("mode") !== "headless";
  hint.textContent = model.get("redirect_hint") || (keptByHub(model) ? HUB_HINT : REGISTER_HINT);
}

function showToken(model, url, { token, generate }, { authLink, box }) {
  const mode = model.get("mode");
  token.textContent = !saved(model)
    ? (model.get("signed_out") ? "signed out by Box: sign in again" : "not connected")
    : model.get("token_hint")
      ? "••••" + model.get("token_hint") + ", " + timeLeft(model.get("expires_at"))
      : "held by your hub, " + timeLeft(model.get("expires_at"));
  generate.disabled = !url || mode === "unknown";
  generate.hidden = mode === "headless";  // there: the link and the paste field instead
  authLink.href = url || "#";
  box.hidden = mode !== "headless";
}

function showStatus(model, url, { test, disconnect, status, keySource }) {
  test.disabled = !saved(model);
  disconnect.disabled = !saved(model);
  let line = model.get("message");
  if (!line && model.get("state") === "new") line = nextStep(model, url);
  status.textContent = line;
  const where = KEY_PLACES[model.get("key_source")] || "unknown";
  keySource.textContent = keptByHub(model)
    ? "Tokens are held by your hub (its box-widget service), not on this server."
    : "Tokens are stored encrypted; the key is in " + where + ".";
}

// --- what the user does ---------------------------------------------------------------------------

/** Run ``commit`` when the field is committed: Enter, leaving it, or a change event. */
function onCommit(input, commit) {
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      event.stopPropagation();
      commit();
    }
  });
  input.addEventListener("change", commit);
}

// Keys pressed in the form are the form's: JupyterLab's and Notebook 7's command-mode
// shortcuts ("a", "b", "d d", "m", "x", ...) must not run while one types here
// (ipywidgets#3926). Lumino skips its key bindings for events from inside an element with
// data-lm-suppress-shortcuts (the focused control itself: ":focus" selectors match it); it
// listens on the document (Notebook 7: in the capture phase), so the attribute is set for
// each key from the window's capture phase, before it. Keys with Ctrl/Cmd/Alt still reach
// the page (Ctrl+S saves), except the text editing ones in a field.
function keyClaimer(root) {
  return (event) => {
    const target = event.target;
    if (!(target instanceof Element) || target === root || !root.contains(target)) return;
    const accel = event.ctrlKey || event.metaKey;
    const editing = target instanceof HTMLInputElement &&
      ["a", "c", "v", "x", "y", "z"].includes(event.key.toLowerCase());
    target.toggleAttribute("data-lm-suppress-shortcuts",
      (!accel && !event.altKey) || (accel && editing));
  };
}

/** ``stale()`` runs once a new Client ID or secret is on its way to the kernel: the authorize
 * address the form holds was made for the old ones (a wrong secret's sign-in would fail again
 * with invalid_client), and the kernel answers each change with a new address. */
function wireCredentials(model, { clientId, secret }, stale) {
  onCommit(clientId, () => {
    if (clientId.value.trim() === model.get("client_id")) return;
    model.set("client_id", clientId.value.trim());
    model.save_changes();
    stale();
  });
  onCommit(secret, () => {
    if (!secret.value) return;
    model.send({ type: PROTOCOL.toKernel.secret, value: secret.value });
    secret.value = "";  // the secret lives in the kernel only
    stale();
  });
}

function wireRedirect(model, { redirect, copy }, stale) {
  function feedback(text, ms) {
    copy.textContent = text;
    setTimeout(() => { copy.textContent = "Copy"; }, ms);
  }
  function selectRedirect() {
    // No clipboard API (a plain-http page that is not localhost): the user copies by hand.
    redirect.focus();
    redirect.select();
    feedback("Selected: press Ctrl+C (⌘C) to copy", 6000);
  }
  copy.addEventListener("click", () => {
    if (!navigator.clipboard) return selectRedirect();
    navigator.clipboard.writeText(redirect.value).then(() => feedback("Copied", 1500),
      selectRedirect);
  });
  onCommit(redirect, () => {
    if (redirect.readOnly || redirect.value.trim() === model.get("redirect_uri")) return;
    model.set("redirect_uri", redirect.value.trim());
    model.save_changes();
    stale();  // as for wireCredentials: the kernel sends the address for the new URL
  });
}

/** Tell the kernel when the window ``opened`` closes before the callback page was heard from
 * (``signIn.heard``): Box shows its own error page for a Redirect URL it refuses, and never
 * comes back. Returns a function that stops watching. */
function watchWindow(model, opened, signIn) {
  const timer = setInterval(() => {
    if (!opened.closed) return;
    clearInterval(timer);
    if (!signIn.heard) model.send({ type: PROTOCOL.toKernel.closed });
  }, 500);
  return () => clearInterval(timer);
}

function wireGenerate(model, authorizeUrl, signIn, { generate, openLink }) {
  generate.addEventListener("click", () => {
    // Open Box's page from the click itself, so that popup blockers let it through.
    const url = authorizeUrl();
    if (!url) return;
    const opened = window.open(url, "box-widget-" + model.get("name"),
      "popup,width=600,height=720");
    if (opened) opened.focus();
    openLink.href = url;
    openLink.hidden = Boolean(opened);
    model.send({ type: PROTOCOL.toKernel.generate, opened: Boolean(opened) });
    signIn.stopWatching();
    signIn.heard = false;
    if (opened) signIn.stopWatching = watchWindow(model, opened, signIn);
  });
}

function wireHeadless(model, { paste, complete }) {
  function completeHeadless() {
    if (!paste.value.trim()) return;
    model.send({ type: PROTOCOL.toKernel.complete, address: paste.value.trim() });
    paste.value = "";
  }
  complete.addEventListener("click", completeHeadless);
  onCommit(paste, completeHeadless);
}

/** Hear the callback page's outcome (same origin); null where BroadcastChannel is missing. */
function listenForCallback(model, signIn, { openLink }) {
  try {
    const channel = new BroadcastChannel(PROTOCOL.channel);
    channel.onmessage = (event) => {
      const data = event.data || {};
      if (data.type === PROTOCOL.broadcastType && data.name === model.get("name")) {
        signIn.heard = true;
        openLink.hidden = true;
        openLink.removeAttribute("href");  // that sign-in is used up; keep no trace of its state
        model.send({ type: PROTOCOL.toKernel.outcome, ok: Boolean(data.ok),
          error: data.error || null, message: data.message || null });
      }
    };
    return channel;
  } catch (e) {
    return null;  // the kernel's vault watch still sees the outcome
  }
}

/** Ask the server extension what it offers; set the mode, the Redirect URL and its app. */
async function detectServer(model) {
  const server = await serverExtension();
  if (server) {
    // (In hub mode, a service that did not answer gives no callback path: the kernel says why.)
    if (server.callback_path) model.set("redirect_uri", location.origin + server.callback_path);
    model.set("server_endpoints", server.endpoints || {});
    // An administrator's Box app (c.BoxWidgetApp.client_id/client_secret): its secret
    // stays on the server, which fills it in at the callback.
    if (server.client_id && server.client_secret_configured) {
      model.set("server_client_id", server.client_id);
      if (!model.get("client_id")) model.set("client_id", server.client_id);
    }
  }
  model.set("mode", server ? "server" : "headless");
  model.save_changes();
}

let counter = 0;

function render({ model, el }) {
  // Box's authorize address arrives as a message and stays in this closure: it carries a
  // single-use state, which a saved notebook (widget state) should not keep.
  let authorizeUrl = "";
  const uid = "bw" + ++counter + "-";
  const name = h("strong", { "data-testid": "name" });
  const credentials = credentialsPart(uid);
  const redirect = redirectPart(uid);
  const token = tokenPart(uid);
  const headless = headlessPart(uid);
  const actions = actionsPart();
  const root = h("div", { class: "box-widget", "data-state": "new" },
    h("div", { class: "bw-title" }, "Box connection ", name),
    ...credentials.rows, redirect.row, ...token.rows, headless.box, ...actions.rows);
  el.append(root);

  function sync() {
    const url = model.get("ready") ? authorizeUrl : "";
    root.dataset.state = model.get("state");
    name.textContent = model.get("name");
    showCredentials(model, credentials);
    showRedirect(model, redirect);
    showToken(model, url, token, headless);
    showStatus(model, url, actions);
  }

  // The sign-in in progress: whether the callback page was heard, and its window's watch.
  const signIn = { heard: false, stopWatching: () => {} };
  const claimKeys = keyClaimer(root);
  window.addEventListener("keydown", claimKeys, true);
  // After an edit, Generate waits ("Preparing…") for the kernel's address for the new values.
  const stale = () => { authorizeUrl = ""; sync(); };
  wireCredentials(model, credentials, stale);
  wireRedirect(model, redirect, stale);
  wireGenerate(model, () => authorizeUrl, signIn, token);
  wireHeadless(model, headless);
  actions.test.addEventListener("click", () => model.send({ type: PROTOCOL.toKernel.test }));
  actions.disconnect.addEventListener("click",
    () => model.send({ type: PROTOCOL.toKernel.disconnect }));
  function onKernelMessage(content) {
    if (content && content.type === PROTOCOL.authorizeUrl) {
      authorizeUrl = content.url || "";
      sync();
    }
  }
  model.on("msg:custom", onKernelMessage);
  model.send({ type: PROTOCOL.toKernel.hello });  // ask for the current authorize address
  const channel = listenForCallback(model, signIn, token);
  detectServer(model);

  model.on("change", sync);
  const timer = setInterval(() => { if (saved(model)) sync(); }, 1000);
  sync();
  return () => {
    window.removeEventListener("keydown", claimKeys, true);
    clearInterval(timer);
    signIn.stopWatching();
    model.off("change", sync);
    model.off("msg:custom", onKernelMessage);
    if (channel) channel.close();
  };
}

export default { render };
