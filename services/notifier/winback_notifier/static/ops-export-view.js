// The ops page's "Export for BI" form and its downloads (the addresses and words come from the
// pure ops-export.js).
//
// The export needs the Authorization header like every API call, so a plain link cannot carry
// it: the file is fetched with the tab's token, and the answer saved through a temporary
// <a download> on an object URL. A download is not a fetch or a script, so the page's CSP
// (default-src 'self') stays as it is. A refusal (a 422 for a reversed window, an unknown
// queue) is shown as the API's own message, and no file is saved.

import { make } from "./dom.js";
import { defaultRange, downloadName, exportPath, refusalText } from "./ops-export.js";
import { storedToken } from "./session.js";

const REVOKE_AFTER_MS = 60000;

export function createExportView({ form, from, to, queue, reason, status, buttons }) {
  const range = defaultRange();
  from.value = range.from;
  to.value = range.to;

  // The reasons a case may be filtered by: the taxonomy the hello carries.
  function setReasons(causes) {
    const options = [make("option", "", "any reason")];
    options[0].value = "";
    for (const cause of Array.isArray(causes) ? causes : []) {
      if (!cause || !cause.code) continue;
      const node = make("option", "", cause.label || cause.code);
      node.value = cause.code;
      options.push(node);
    }
    const chosen = reason.value;
    reason.replaceChildren(...options);
    reason.value = options.some((node) => node.value === chosen) ? chosen : "";
  }

  function show(text, failed) {
    status.textContent = text;
    status.classList.toggle("ops-error", Boolean(failed));
    status.hidden = !text;
  }

  async function download(format) {
    const path = exportPath({
      format, from: from.value, to: to.value, queue: queue.value, reason: reason.value,
    });
    for (const node of buttons) node.disabled = true;
    show(`Preparing the ${format.toUpperCase()} file…`, false);
    try {
      const response = await fetch(path, {
        headers: { Authorization: `Bearer ${storedToken()}` },
      });
      if (!response.ok) {
        let payload = null;
        try {
          payload = await response.json();
        } catch (error) {
          payload = null;
        }
        show(refusalText(response.status, payload), true);
        return;
      }
      const name = downloadName(response.headers.get("Content-Disposition"), format);
      save(await response.blob(), name);
      show(`Saved ${name}.`, false);
    } catch (error) {
      show(refusalText(0, null), true);
    } finally {
      for (const node of buttons) node.disabled = false;
    }
  }

  for (const node of buttons) {
    node.addEventListener("click", () => download(node.dataset.format));
  }
  form.addEventListener("submit", (event) => event.preventDefault());
  return { setReasons };
}

function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = make("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS);
}
