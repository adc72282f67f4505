// "Add a face" on the photo page: drag a box on the photo (mouse, pen or finger, through
// pointer events), then name it or leave it unnamed and save. The box is sent in the
// photo's own pixels, which the SVG over the photo is drawn in.
(() => {
  const start = document.getElementById("add-face");
  const svg = document.getElementById("boxes");
  const form = document.getElementById("add-face-form");
  if (!start || !svg || !form) return;
  const frame = document.getElementById("photo-frame");
  const hint = document.getElementById("draw-hint");
  const box = document.getElementById("new-box");
  const names = document.getElementById("people-names");
  const width = Number(svg.dataset.width), height = Number(svg.dataset.height);
  let origin = null;

  const photoPoint = (event) => {
    const rect = svg.getBoundingClientRect();
    const clamp = (v, high) => Math.min(Math.max(v, 0), high);
    return [clamp((event.clientX - rect.left) / rect.width * width, width),
            clamp((event.clientY - rect.top) / rect.height * height, height)];
  };
  const corners = (a, b) => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])];
  const show = ([x0, y0, x1, y1]) => {
    box.setAttribute("x", x0); box.setAttribute("y", y0);
    box.setAttribute("width", x1 - x0); box.setAttribute("height", y1 - y0);
    box.style.display = "";
  };
  const hide = () => { box.style.display = "none"; };
  const drawing = (on) => {
    frame.classList.toggle("drawing", on);
    hint.hidden = !on;
    start.hidden = on;
  };
  const reset = () => {
    drawing(false); form.hidden = true; hide(); origin = null;
  };

  start.addEventListener("click", () => { form.hidden = true; hide(); drawing(true); });
  document.getElementById("add-face-cancel").addEventListener("click", reset);
  svg.addEventListener("pointerdown", (event) => {
    if (!frame.classList.contains("drawing")) return;
    event.preventDefault();
    origin = photoPoint(event);
    svg.setPointerCapture(event.pointerId);
    show(corners(origin, origin));
  });
  svg.addEventListener("pointermove", (event) => {
    if (origin) show(corners(origin, photoPoint(event)));
  });
  svg.addEventListener("pointerup", (event) => {
    if (!origin) return;
    const [x0, y0, x1, y1] = corners(origin, photoPoint(event));
    origin = null;
    if (x1 - x0 < 2 || y1 - y0 < 2) { hide(); return; }  // a tap, not a box: keep drawing
    for (const [key, value] of Object.entries({x0, y0, x1, y1})) form.elements[key].value = value.toFixed(1);
    drawing(false);
    start.hidden = false;
    form.hidden = false;
    form.elements.name.focus();
  });

  // Names the user has already, to pick from as they type (the JSON API's name search).
  let asked = "";
  form.elements.name.addEventListener("input", async () => {
    const query = form.elements.name.value.trim();
    if (!query || query === asked) return;
    asked = query;
    const response = await fetch(`/api/v1/people?q=${encodeURIComponent(query)}`, {headers: {Accept: "application/json"}});
    if (!response.ok || asked !== query) return;
    names.replaceChildren(...(await response.json()).results.map((person) => new Option(person.name)));
  });
})();
