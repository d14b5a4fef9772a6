// The members page (admins): invite, list and revoke invitations, list members, change role, remove.
"use strict";

(() => {
  const { api, el, formatTime, say, copyText, confirmAndDelete, requiredValue } = window.csvhub;
  const form = document.getElementById("invite-form");
  if (!form) return;
  const apiUrl = form.dataset.apiUrl;
  const table = document.getElementById("member-table");
  const tbody = table.querySelector("tbody");
  const roles = JSON.parse(table.dataset.roles);
  const me = table.dataset.me;
  const more = document.getElementById("member-more");
  const status = document.getElementById("member-status");
  const formError = document.getElementById("invite-error");
  const invitationsUrl = form.dataset.invitationsUrl;
  const invitationBody = document.querySelector("#invitation-table tbody");
  const invitationMore = document.getElementById("invitation-more");
  let nextUrl = null;
  let nextInvitationsUrl = null;

  function row(member) {
    const id = `role-${member.id}`;
    const select = el("select", { id, "data-member": member.id });
    for (const [value, label] of roles) {
      const option = el("option", { value }, label);
      if (value === member.role) option.selected = true;
      select.append(option);
    }
    select.dataset.previous = member.role;
    select.addEventListener("change", () => changeRole(member, select));
    const remove = el("button", { type: "button", class: "secondary small", "aria-label": `Remove ${member.username}` }, "Remove");
    remove.addEventListener("click", () => removeMember(member));
    const you = member.username === me ? el("span", { class: "small muted" }, " (you)") : null;
    return el("tr", { "data-member": member.id },
      el("td", { class: "card-title" }, member.username, you),
      el("td", { "data-label": "Email" }, member.email || "—"),
      el("td", { "data-label": "Role" }, el("label", { for: id, class: "visually-hidden" }, `Role of ${member.username}`), select),
      el("td", { "data-label": "Member since" }, formatTime(member.created_at)),
      el("td", { class: "actions" }, remove));
  }

  async function load(url = apiUrl, append = false) {
    try {
      const page = await api(url);
      const rows = page.results.map(row);
      if (append) tbody.append(...rows);
      else tbody.replaceChildren(...rows);
      nextUrl = page.next;
      more.hidden = !nextUrl;
    } catch (error) {
      say(status, `The members could not be listed: ${error.message}`, { error: true });
    }
  }

  async function changeRole(member, select) {
    try {
      await api(`${apiUrl}${member.id}/`, { method: "PATCH", body: { role: select.value } });
      select.dataset.previous = select.value;
      say(status, `${member.username} is now ${select.value}.`);
    } catch (error) {
      select.value = select.dataset.previous;
      say(status, `Could not change ${member.username}'s role: ${error.message}`, { error: true });
    }
  }

  function removeMember(member) {
    return confirmAndDelete({
      dialog: {
        title: `Remove ${member.username}?`,
        body: "They lose access to this organization's data, and their API tokens here stop working.",
        confirm: "Remove member",
      },
      url: `${apiUrl}${member.id}/`,
      status,
      done: `Removed ${member.username}.`,
      failed: `Could not remove ${member.username}`,
      after: load,
    });
  }

  function invitationRow(invitation) {
    const revoke = el("button", { type: "button", class: "secondary small", "aria-label": `Revoke the invitation of ${invitation.invited}` }, "Revoke");
    revoke.addEventListener("click", () => revokeInvitation(invitation));
    return el("tr", { "data-invitation": invitation.id },
      el("td", { class: "card-title" }, invitation.invited, invitation.link ? invitationLink(invitation) : null),
      el("td", { "data-label": "Role" }, invitation.role),
      el("td", { "data-label": "Invited by" }, invitation.invited_by || "—"),
      el("td", { "data-label": "Expires" }, formatTime(invitation.expires_at)),
      el("td", { class: "actions" }, revoke));
  }

  // With the console mailer csvhub sends no mail: the API gives the invitation's link, for the
  // admin to pass on.
  function invitationLink(invitation) {
    const field = el("input", { type: "text", readonly: true, class: "invitation-link", value: invitation.link, "aria-label": `Invitation link for ${invitation.invited}` });
    const copy = el("button", { type: "button", class: "secondary small" }, "Copy link");
    copy.addEventListener("click", async () => {
      const copied = await copyText(invitation.link);
      status.textContent = copied ? `Copied the invitation link for ${invitation.invited}.` : "Select the link and copy it.";
      if (!copied) field.select();
    });
    return el("div", { class: "invitation-link-row" }, field, copy);
  }

  async function loadInvitations(url = invitationsUrl, append = false) {
    try {
      const page = await api(url);
      const rows = page.results.map(invitationRow);
      if (!append && !rows.length) rows.push(el("tr", {}, el("td", { colspan: 5, class: "empty" }, "No invitation is waiting for an answer.")));
      if (append) invitationBody.append(...rows);
      else invitationBody.replaceChildren(...rows);
      nextInvitationsUrl = page.next;
      invitationMore.hidden = !nextInvitationsUrl;
    } catch (error) {
      say(status, `The invitations could not be listed: ${error.message}`, { error: true });
    }
  }

  function revokeInvitation(invitation) {
    return confirmAndDelete({
      dialog: {
        title: `Revoke the invitation of ${invitation.invited}?`,
        body: "They can no longer accept it. You can invite them again later.",
        confirm: "Revoke invitation",
      },
      url: `${invitationsUrl}${invitation.id}/`,
      status,
      done: `Revoked the invitation of ${invitation.invited}.`,
      failed: `Could not revoke the invitation of ${invitation.invited}`,
      after: loadInvitations,
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError.hidden = true;
    const user = requiredValue(form.elements.user, formError, "Enter a username or an email address.");
    if (!user) return;
    try {
      const invitation = await api(invitationsUrl, { method: "POST", body: { user, role: form.elements.role.value } });
      say(status, `Invited ${invitation.invited} as ${invitation.role}. ${invitation.detail}`);
      form.reset();
      await loadInvitations();
    } catch (error) {
      formError.textContent = error.message;
      formError.hidden = false;
    }
  });

  more.addEventListener("click", () => load(nextUrl, true));
  invitationMore.addEventListener("click", () => loadInvitations(nextInvitationsUrl, true));
  load();
  loadInvitations();
})();
