// The API tokens page: list (cursor pages), create (the secret is shown once), revoke.
"use strict";

(() => {
  const { api, el, formatTime, copyText, say, confirmAndDelete, requiredValue } = window.csvhub;
  const form = document.getElementById("token-form");
  if (!form) return;
  const apiUrl = form.dataset.apiUrl;
  const tbody = document.querySelector("#token-table tbody");
  const more = document.getElementById("token-more");
  const status = document.getElementById("token-status");
  const formError = document.getElementById("token-form-error");
  const created = document.getElementById("token-created");
  const secret = document.getElementById("token-secret");
  let nextUrl = null;

  function row(token) {
    const revoke = token.state === "active"
      ? el("button", { type: "button", class: "secondary small", "aria-label": `Revoke ${token.name}` }, "Revoke")
      : null;
    if (revoke) revoke.addEventListener("click", () => revokeToken(token));
    return el("tr", { class: token.state === "active" ? "" : "inactive", "data-token": token.id },
      el("td", { class: "card-title" }, token.name),
      el("td", { "data-label": "Starts with" }, el("code", {}, `csvhub_${token.prefix}_…`)),
      el("td", { "data-label": "Role" }, token.role),
      el("td", { "data-label": "Created by" }, token.user),
      el("td", { "data-label": "Created" }, formatTime(token.created_at)),
      el("td", { "data-label": "Last used" }, token.last_used_at ? formatTime(token.last_used_at) : "never"),
      el("td", { "data-label": "Expires" }, token.expires_at ? formatTime(token.expires_at) : "never"),
      el("td", { class: `state-${token.state}`, "data-label": "State" }, token.state),
      el("td", { class: "actions" }, revoke));
  }

  async function load(url = apiUrl, append = false) {
    try {
      const page = await api(url);
      const rows = page.results.map(row);
      if (append) tbody.append(...rows);
      else tbody.replaceChildren(...rows);
      if (!append && !rows.length) {
        tbody.append(el("tr", {}, el("td", { colspan: 9, class: "empty" }, "No tokens yet.")));
      }
      nextUrl = page.next;
      more.hidden = !nextUrl;
    } catch (error) {
      say(status, `The tokens could not be listed: ${error.message}`, { error: true });
    }
  }

  function revokeToken(token) {
    return confirmAndDelete({
      dialog: {
        title: `Revoke “${token.name}”?`,
        body: "Programs using this token stop working on their next request. This cannot be undone.",
        confirm: "Revoke token",
      },
      url: `${apiUrl}${token.id}/`,
      status,
      done: `Revoked ${token.name}.`,
      failed: `Could not revoke ${token.name}`,
      after: load,
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError.hidden = true;
    const name = requiredValue(form.elements.name, formError, "Give the token a name.");
    if (!name) return;
    const body = { name, role: form.elements.role.value };
    const expires = form.elements.expires.value;
    if (expires) body.expires_at = new Date(`${expires}T23:59:59`).toISOString();
    try {
      const token = await api(apiUrl, { method: "POST", body });
      secret.value = token.token;
      created.hidden = false;
      created.focus();
      secret.select();
      form.reset();
      await load();
    } catch (error) {
      formError.textContent = error.message;
      formError.hidden = false;
    }
  });

  document.getElementById("copy-token").addEventListener("click", async () => {
    const copied = await copyText(secret.value);
    document.getElementById("copy-token-done").textContent = copied ? "Copied." : "Select the token and copy it.";
  });
  document.getElementById("token-hide").addEventListener("click", () => {
    secret.value = "";
    created.hidden = true;
    form.elements.name.focus();
  });
  more.addEventListener("click", () => load(nextUrl, true));
  load();
})();
