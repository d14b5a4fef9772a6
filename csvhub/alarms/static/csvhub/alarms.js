// The dataset page's Alarms panel: rules with their state per group, latest events, and a
// form that answers the dry run (how often the rule would have fired) before it can be saved.
"use strict";

(() => {
  const { api, el, formatTime, say, confirmAndDelete } = window.csvhub;
  const panel = document.getElementById("alarms");
  if (!panel) return;
  const apiUrl = panel.dataset.apiUrl;
  const status = document.getElementById("alarms-status");
  const tbody = panel.querySelector("#alarms-table tbody");
  const events = panel.querySelector("#alarm-events tbody");
  const form = document.getElementById("alarm-form");
  const canEdit = panel.dataset.canEdit === "true";

  const groups = (rule) => rule.states.length
    ? rule.states.map((s) => el("span", { class: `alarm-state alarm-${s.state}`, title: `since ${formatTime(s.since)}` },
      `${s.group || "all"}: ${s.state}`, " "))
    : [el("span", { class: "muted" }, "no rows yet")];
  const watches = (r) => `${r.column}${r.lower ? ` < ${r.lower}` : ""}${r.upper ? ` > ${r.upper}` : ""}${r.group_by ? ` per ${r.group_by}` : ""}`;

  // An editor pauses, resumes or deletes a rule where it is listed.
  function ruleActions(rule) {
    const url = `${apiUrl}${rule.id}/`;
    const toggle = el("button", { type: "button", class: "secondary small", "aria-label": `${rule.enabled ? "Pause" : "Resume"} ${rule.name}` },
      rule.enabled ? "Pause" : "Resume");
    toggle.addEventListener("click", async () => {
      try {
        await api(url, { method: "PATCH", body: { enabled: !rule.enabled } });
        say(status, `${rule.enabled ? "Paused" : "Resumed"} ${rule.name}.`);
        await load();
      } catch (error) {
        say(status, `Could not change ${rule.name}: ${error.message}`, { error: true });
      }
    });
    const remove = el("button", { type: "button", class: "danger small", "aria-label": `Delete ${rule.name}` }, "Delete");
    remove.addEventListener("click", () => confirmAndDelete({
      dialog: { title: `Delete the alarm “${rule.name}”?`, body: "Its groups' states and events go with it; no more mails are sent.", confirm: "Delete alarm" },
      url, status, done: `Deleted ${rule.name}.`, failed: `Could not delete ${rule.name}`, after: load,
    }));
    return [toggle, " ", remove];
  }

  async function load() {
    try {
      const rules = await api(apiUrl);
      tbody.replaceChildren(...(rules.length ? rules.map((rule) => el("tr", { "data-rule": rule.id },
        el("td", { class: "card-title" }, rule.enabled ? rule.name : `${rule.name} (paused)`),
        el("td", { "data-label": "Watches" }, el("code", {}, watches(rule))),
        el("td", { "data-label": "Groups" }, ...groups(rule)),
        el("td", { class: "actions" }, ...(canEdit ? ruleActions(rule) : [])))) :
        [el("tr", {}, el("td", { colspan: 4, class: "empty" }, "No alarms yet."))]));
      const page = await api(panel.dataset.eventsUrl);
      const rows = page.results.map((e) => el("tr", {},
        el("td", {}, formatTime(e.at)), el("td", {}, e.rule_name), el("td", {}, e.group),
        el("td", {}, e.value), el("td", { class: `alarm-${e.to_state}` }, `${e.from_state} → ${e.to_state}`),
        el("td", { title: e.mail_error }, e.mail_status || "—")));
      // An empty table under its headings read as still loading.
      events.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 6, class: "empty" }, "No events yet."))]));
    } catch (error) {
      status.textContent = `The alarms could not be listed: ${error.message}`;
    }
  }

  function body() {
    const data = {};
    for (const name of ["name", "column", "time_column", "group_by", "lower", "upper", "clear_lower", "clear_upper"]) {
      const value = form.elements[name].value.trim();
      if (value) data[name] = value;
    }
    for (const name of ["for_seconds", "for_rows", "repeat_every_seconds", "no_data_seconds"]) {
      if (form.elements[name].value) data[name] = Number(form.elements[name].value);
    }
    data.recipients = form.elements.recipients.value.split(",").map((s) => s.trim()).filter(Boolean);
    return data;
  }

  if (form) {
    const error = document.getElementById("alarm-form-error");
    const preview = document.getElementById("alarm-preview");
    const save = document.getElementById("alarm-save");
    form.addEventListener("input", () => { save.disabled = true; });
    document.getElementById("alarm-dry-run").addEventListener("click", async () => {
      error.textContent = "";
      try {
        const answer = await api(`${apiUrl}preview`, { method: "POST", body: body() });
        const first = answer.transitions.slice(0, 3).map((t) => `${t.group || "all"} ${t.from_state} → ${t.to_state} at ${formatTime(t.at)}`);
        preview.textContent = `Over the ${answer.rows_read} stored rows${answer.truncated ? " read" : ""}, this alarm would have fired ${answer.fired} time${answer.fired === 1 ? "" : "s"}.${first.length ? ` First: ${first.join("; ")}.` : ""}`;
        save.disabled = false;
      } catch (failure) {
        error.textContent = failure.message;
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api(apiUrl, { method: "POST", body: body() });
        status.textContent = "Alarm saved.";
        form.reset();
        save.disabled = true;
        preview.textContent = "";
        load();
      } catch (failure) {
        error.textContent = failure.message;
      }
    });
  }
  load();
})();
