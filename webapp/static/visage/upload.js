// Album upload: files, folders (picker or drag and drop) and .zip archives.
// Files go up in several requests so one huge selection never becomes one huge request,
// with a byte-accurate progress bar and a per-file result list.
(() => {
  const zone = document.getElementById("dropzone");
  if (!zone) return;
  const url = zone.dataset.uploadUrl;
  const csrf = document.querySelector("#upload-form [name=csrfmiddlewaretoken]").value;
  const statusBox = document.getElementById("upload-status");
  const bar = document.getElementById("upload-bar");
  const text = document.getElementById("upload-text");
  const table = document.getElementById("upload-results");
  const MAX_FILES_PER_REQUEST = 20;
  const MAX_BYTES_PER_REQUEST = 64 * 1024 * 1024;

  function batches(files) {
    const out = [];
    let current = [], bytes = 0;
    for (const f of files) {
      if (current.length && (current.length >= MAX_FILES_PER_REQUEST || bytes + f.size > MAX_BYTES_PER_REQUEST)) {
        out.push(current); current = []; bytes = 0;
      }
      current.push(f); bytes += f.size;
    }
    if (current.length) out.push(current);
    return out;
  }

  function send(batch, onProgress) {
    return new Promise((resolve) => {
      const form = new FormData();
      for (const f of batch) form.append("files", f, f.relativePath || f.webkitRelativePath || f.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = (e) => onProgress(e.loaded);
      xhr.onload = () => {
        try {
          const body = JSON.parse(xhr.responseText);
          resolve(body.results || batch.map((f) => ({ name: f.name, status: "rejected", message: body.error || `server said ${xhr.status}` })));
        } catch {
          resolve(batch.map((f) => ({ name: f.name, status: "rejected", message: `server said ${xhr.status}` })));
        }
      };
      xhr.onerror = () => resolve(batch.map((f) => ({ name: f.name, status: "rejected", message: "network error" })));
      xhr.send(form);
    });
  }

  function showResult(r) {
    const row = table.tBodies[0].insertRow();
    row.insertCell().textContent = r.name;
    const cell = row.insertCell();
    cell.className = r.status;
    cell.textContent = r.status + (r.message ? ` — ${r.message}` : "");
  }

  async function upload(files) {
    if (!files.length) return;
    const total = files.reduce((s, f) => s + f.size, 0) || 1;
    let sent = 0, added = 0, answered = 0;
    statusBox.hidden = false; table.hidden = false;
    for (const batch of batches(files)) {
      const results = await send(batch, (loaded) => {
        const pct = Math.min(100, Math.round(100 * (sent + loaded) / total));
        bar.style.width = pct + "%";
        text.textContent = `Uploading… ${pct}%`;
      });
      sent += batch.reduce((s, f) => s + f.size, 0);
      results.forEach(showResult);
      added += results.filter((r) => r.status === "added").length;
      answered += results.length;  // a .zip answers one line per photo inside it
    }
    bar.style.width = "100%";
    text.textContent = `Upload finished: ${added} of ${answered} file(s) added.`;
    document.body.dataset.uploaded = "true";
    if (window.htmx) htmx.ajax("GET", zone.dataset.progressUrl, { target: "#progress", swap: "outerHTML" });
  }

  // Refresh the photo grid (keeping the upload results on screen) when processing ends.
  document.body.addEventListener("htmx:afterSwap", (e) => {
    const p = document.getElementById("progress");
    if (e.detail.target.id !== "photo-grid" && document.body.dataset.uploaded === "true" && p && p.dataset.complete === "true") {
      document.body.dataset.uploaded = "false";
      htmx.ajax("GET", zone.dataset.gridUrl, { target: "#photo-grid", swap: "outerHTML" });
    }
  });

  async function filesFromEntry(entry, prefix = "") {
    if (entry.isFile) {
      return new Promise((resolve) => entry.file((f) => { f.relativePath = prefix + f.name; resolve([f]); }, () => resolve([])));
    }
    const reader = entry.createReader();
    const all = [];
    for (;;) {
      const chunk = await new Promise((resolve) => reader.readEntries(resolve, () => resolve([])));
      if (!chunk.length) break;
      for (const child of chunk) all.push(...(await filesFromEntry(child, prefix + entry.name + "/")));
    }
    return all;
  }

  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (e) => {
    e.preventDefault(); zone.classList.remove("over");
    const entries = [...e.dataTransfer.items].map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
    const files = entries.length
      ? (await Promise.all(entries.map((en) => filesFromEntry(en)))).flat()
      : [...e.dataTransfer.files];
    upload(files);
  });
  for (const id of ["pick-files", "pick-folder"]) {
    document.getElementById(id).addEventListener("change", (e) => { upload([...e.target.files]); e.target.value = ""; });
  }
})();
