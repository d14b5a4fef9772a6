// The dataset page's Sources panel: list sources, add one, run now, pause/resume, run history.
"use strict";

(() => {
  const { api, el, formatTime, formatNumber, confirmAndDelete } = window.csvhub;
  const panel = document.getElementById("sources");
  if (!panel) return;
  const apiUrl = panel.dataset.apiUrl;
  const tbody = panel.querySelector("#sources-table tbody");
  const status = document.getElementById("sources-status");
  const form = document.getElementById("source-form");
  const formError = document.getElementById("source-form-error");
  const runsBox = document.getElementById("source-runs");

  const from = (s) => (s.kind === "url" ? s.url : `s3://${s.bucket}/${s.glob || s.prefix}`);
  const stateWord = (s) => {
    if (!s.enabled) return "paused";
    if (s.running) return "running";
    if (s.stale) return "stale";
    return s.last_run ? s.last_run.state.replace("_", " ") : "never run";
  };

  function button(label, title, action) {
    const b = el("button", { type: "button", class: "secondary small", "aria-label": title }, label);
    b.addEventListener("click", action);
    return b;
  }

  function row(source) {
    const last = source.last_run;
    return el("tr", { "data-source": source.id },
      el("td", { class: "card-title" }, el("code", {}, from(source))),
      el("td", { "data-label": "Schedule" }, source.schedule_description),
      el("td", { "data-label": "Mode" }, source.mode),
      el("td", { "data-label": "Next run" }, source.enabled ? formatTime(source.next_run_at) : "paused"),
      el("td", { "data-label": "Last run" }, last ? formatTime(last.started_at) : "—"),
      el("td", { class: `state-${stateWord(source).replace(" ", "-")}`, title: last ? last.error : "", "data-label": "State" }, stateWord(source)),
      el("td", { class: "actions" },
        button("Run now", `Run ${from(source)} now`, () => act(`${apiUrl}${source.id}/run`, "POST", null, "Run started.")),
        button(source.enabled ? "Pause" : "Resume", `${source.enabled ? "Pause" : "Resume"} ${from(source)}`,
          () => act(`${apiUrl}${source.id}/`, "PATCH", { enabled: !source.enabled }, source.enabled ? "Paused." : "Resumed.")),
        button("History", `Run history of ${from(source)}`, () => showRuns(source)),
        button("Delete", `Delete source ${from(source)}`, () => confirmAndDelete({
          dialog: { title: "Delete this source?", body: "Files it loaded stay in the dataset.", confirm: "Delete source" },
          url: `${apiUrl}${source.id}/`, status, done: "Source deleted.", failed: "Could not delete the source", after: load,
        }))));
  }

  async function load() {
    try {
      const sources = await api(apiUrl);
      const rows = sources.map(row);
      tbody.replaceChildren(...(rows.length ? rows
        : [el("tr", {}, el("td", { colspan: 7, class: "empty" }, "No sources yet."))]));
    } catch (error) {
      status.textContent = `The sources could not be listed: ${error.message}`;
    }
  }

  async function act(url, method, body, done) {
    try {
      await api(url, { method, body: body || undefined });
      status.textContent = done;
    } catch (error) {
      status.textContent = error.message;
    }
    load();
  }

  async function showRuns(source) {
    try {
      const runs = await api(source.runs_url);
      runsBox.querySelector("#source-runs-title").textContent = `Run history of ${from(source)}`;
      runsBox.querySelector("tbody").replaceChildren(...runs.map((r) => el("tr", {},
        el("td", {}, formatTime(r.started_at)), el("td", {}, r.trigger),
        el("td", { class: `state-${r.state}` }, r.state.replace("_", " ")),
        el("td", { class: "num" }, formatNumber(r.files_found)),
        el("td", { class: "num" }, formatNumber(r.files_loaded)),
        el("td", { class: "num" }, formatNumber(r.files_skipped)),
        el("td", { class: "num" }, formatNumber(r.rows)), el("td", {}, r.error))));
      runsBox.hidden = false;
    } catch (error) {
      status.textContent = error.message;
    }
  }

  function showKind() {
    const kind = form.elements.kind.value;
    for (const box of form.querySelectorAll("[data-kind]")) box.hidden = box.dataset.kind !== kind;
  }

  function body() {
    const f = form.elements;
    const data = { kind: f.kind.value, cron: f.cron.value.trim(), time_zone: f.time_zone.value.trim() || "UTC", mode: f.mode.value };
    if (f.stale_after_hours.value) data.stale_after_seconds = Number(f.stale_after_hours.value) * 3600;
    if (data.kind === "url") {
      data.url = f.url.value.trim();
      if (f.authorization.value) data.headers = { Authorization: f.authorization.value };
    } else {
      for (const name of ["bucket", "prefix", "glob", "endpoint_url", "region", "access_key_id", "secret_access_key"]) {
        if (f[name].value.trim()) data[name] = f[name].value.trim();
      }
    }
    return data;
  }

  form.addEventListener("change", (event) => {
    if (event.target.name === "kind") showKind();
    if (event.target.name === "preset" && event.target.value) form.elements.cron.value = event.target.value;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError.textContent = "";
    try {
      await api(apiUrl, { method: "POST", body: body() });
      form.reset();
      showKind();
      status.textContent = "Source added.";
      load();
    } catch (error) {
      formError.textContent = error.message;
    }
  });
  load();
})();
