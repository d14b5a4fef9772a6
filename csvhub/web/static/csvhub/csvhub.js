// csvhub: helpers shared by every page. Plain JavaScript, no build step, no dependencies.
"use strict";

window.csvhub = (() => {
  const meta = (name) => {
    const tag = document.querySelector(`meta[name="${name}"]`);
    return tag ? tag.content : "";
  };

  /** An API answer that was not 2xx; `message` is fit to show to a person. */
  class ApiError extends Error {
    constructor(status, message, data) {
      super(message);
      this.status = status;
      this.data = data;
    }
  }

  /** The words of an API error body ({"detail": ..., "errors": ...}, docs/api.md "Errors"). */
  function errorText(status, data) {
    if (data && typeof data === "object") {
      if (typeof data.detail === "string") return data.detail;
      const parts = [];
      for (const [field, problems] of Object.entries(data)) {
        const text = Array.isArray(problems) ? problems.join(" ") : String(problems);
        parts.push(field === "non_field_errors" ? text : `${field}: ${text}`);
      }
      if (parts.length) return parts.join(" ");
    }
    if (status === 0) return "The server could not be reached. Check your connection and try again.";
    if (status === 401) return "You have been signed out. Sign in again, then retry.";
    if (status === 403) return "Your role does not allow this. Ask an admin of this organization.";
    if (status === 404) return "It no longer exists; someone may have deleted it.";
    if (status === 429) return "Too many requests; wait a minute and try again.";
    if (status >= 500) return "The server had a problem. Try again in a minute.";
    return `The request failed (HTTP ${status}).`;
  }

  /** Headers every call to our own server sends: CSRF token and the organization acted in. */
  function headers(method, extra) {
    const out = { Accept: "application/json", ...extra };
    const organization = meta("csvhub-organization");
    if (organization) out["X-Csvhub-Organization"] = organization;
    if (!["GET", "HEAD"].includes(method)) out["X-CSRFToken"] = meta("csrf-token");
    return out;
  }

  /** fetch() for our JSON API: throws ApiError with readable words on failure. */
  async function api(url, { method = "GET", body, signal } = {}) {
    const extra = {};
    let payload = body;
    if (body !== undefined && !(body instanceof FormData)) {
      extra["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, {
        method, headers: headers(method, extra), body: payload, credentials: "same-origin", signal,
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, errorText(0, null), null);
    }
    const type = response.headers.get("Content-Type") || "";
    const data = type.includes("json") ? await response.json().catch(() => null) : null;
    // Aborted once the headers were in (while the body arrived, or after): still an abort. The
    // caller that aborted has a newer request under way and must not show this one's error.
    if (signal?.aborted) throw new DOMException("The request was aborted.", "AbortError");
    if (!response.ok) throw new ApiError(response.status, errorText(response.status, data), data);
    return data;
  }

  const numberFormat = new Intl.NumberFormat("en-US");
  const formatNumber = (n) => (n === null || n === undefined ? "—" : numberFormat.format(n));

  function formatBytes(n) {
    if (!Number.isFinite(n)) return "—";
    const units = ["bytes", "KB", "MB", "GB", "TB"];
    let value = n;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return unit === 0 ? `${n} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
  }

  const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  const formatTime = (iso) => (iso ? timeFormat.format(new Date(iso)) : "—");

  /** Show server times (<time data-local datetime=...>, written in UTC) in the reader's zone. */
  function localizeTimes(root) {
    for (const tag of root.querySelectorAll("time[data-local]")) {
      const when = new Date(tag.getAttribute("datetime"));
      if (Number.isNaN(when.getTime())) continue;
      tag.title = tag.textContent;
      tag.textContent = timeFormat.format(when);
    }
  }

  /** Build an element: el("a", {href: "/", class: "x"}, "text", child). */
  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (value === false || value === null || value === undefined) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  /** Copy text to the clipboard; falls back to a selected hidden textarea. */
  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (_) { /* fall through: permissions or focus */ }
    }
    const area = el("textarea", { class: "offscreen", "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    area.select();
    let done = false;
    try { done = document.execCommand("copy"); } catch (_) { done = false; }
    area.remove();
    return done;
  }

  /** A modal yes/no question; resolves true when confirmed. Esc and Cancel resolve false. */
  function confirmDialog({ title, body, confirm = "Confirm", danger = false }) {
    return new Promise((resolve) => {
      const titleId = `confirm-${Date.now()}`;
      const cancelButton = el("button", { type: "button", class: "secondary" }, "Cancel");
      const okButton = el("button", { type: "submit", class: danger ? "danger" : "" }, confirm);
      const form = el("form", { method: "dialog" },
        el("h2", { id: titleId }, title), el("p", {}, body),
        el("div", { class: "dialog-buttons" }, cancelButton, okButton));
      const dialog = el("dialog", { "aria-labelledby": titleId, class: "confirm" }, form);
      let answer = false;
      cancelButton.addEventListener("click", () => dialog.close());
      form.addEventListener("submit", () => { answer = true; });
      dialog.addEventListener("close", () => { dialog.remove(); resolve(answer); });
      document.body.append(dialog);
      dialog.showModal();
      cancelButton.focus();
    });
  }

  /** Say `text` in a status line; a refusal or failure (`error`) shows as a visible alert box,
   * announced at once, rather than as muted small print. */
  function say(status, text, { error = false } = {}) {
    status.textContent = text;
    status.classList.toggle("alert", error);
    status.classList.toggle("alert-error", error);
    status.setAttribute("role", error ? "alert" : "status");
  }

  /** Ask `dialog`'s question, then DELETE `url`; say `done` (or why not) in `status`, and
   * call `after` once the deletion worked. */
  async function confirmAndDelete({ dialog, url, status, done, failed, after }) {
    if (!(await confirmDialog({ ...dialog, danger: true }))) return;
    try {
      await api(url, { method: "DELETE" });
      say(status, done);
      await after();
    } catch (error) {
      say(status, `${failed}: ${error.message}`, { error: true });
    }
  }

  /** A required text field's trimmed value; when empty, `message` in `errorBox`, and null. */
  function requiredValue(field, errorBox, message) {
    const value = field.value.trim();
    if (!value) {
      errorBox.textContent = message;
      errorBox.hidden = false;
      field.focus();
    }
    return value || null;
  }

  localizeTimes(document);

  // A page's view choices that are not API parameters (facets shown, a summary asked for) live
  // in the URL's fragment as `#facets=a,b&by=c`, so a view can be shared while the query string
  // stays exactly the API's query. `#row` (the explorer's open row) reads as no choices.
  const viewState = {
    params() {
      const hash = window.location.hash.slice(1);
      return new URLSearchParams(hash === "row" ? "" : hash);
    },
    get(key) {
      return viewState.params().get(key) || "";
    },
    set(choices) {
      const params = viewState.params();
      for (const [key, value] of Object.entries(choices)) {
        if (value) params.set(key, value);
        else params.delete(key);
      }
      const text = params.toString().replace(/%2C/gi, ",").replace(/%3A/gi, ":");
      const url = `${window.location.pathname}${window.location.search}${text ? `#${text}` : ""}`;
      window.history.replaceState(window.history.state, "", url);
    },
  };

  return {
    ApiError, api, headers, errorText, formatNumber, formatBytes, formatTime, localizeTimes,
    el, copyText, say, confirmDialog, confirmAndDelete, requiredValue, meta, viewState,
  };
})();
