// Face selection (click, shift-click for a range) and the review queue's keyboard.
(() => {
  for (const form of document.querySelectorAll("[data-selection]")) {
    // Checkboxes may sit outside the form and join it with form="<id>".
    const boxes = [...form.querySelectorAll("input[name=face_ids]"), ...(form.id ? document.querySelectorAll(`input[form="${form.id}"]`) : [])];
    const count = form.querySelector("[data-count]");
    let last = null;
    const update = () => {
      const n = boxes.filter((b) => b.checked).length;
      count.textContent = `${n} selected`;
      boxes.forEach((b) => b.closest("li").classList.toggle("selected", b.checked));
    };
    boxes.forEach((box, index) => box.addEventListener("click", (e) => {
      if (e.shiftKey && last !== null) {
        const [a, b] = [Math.min(last, index), Math.max(last, index)];
        for (let i = a; i <= b; i++) boxes[i].checked = box.checked;
      }
      last = index;
      update();
    }));
    form.addEventListener("submit", (e) => {
      if (!boxes.some((b) => b.checked)) { e.preventDefault(); count.textContent = "Select faces first"; }
    });
    update();
  }

  document.addEventListener("keydown", (e) => {
    if (!document.querySelector("[data-review]") || e.target.matches("input:not([type=checkbox]), textarea, select")) return;
    const cards = [...document.querySelectorAll(".review-card")];
    if (!cards.length) return;
    let index = cards.indexOf(document.activeElement.closest(".review-card"));
    if (index < 0) index = 0;
    const key = e.key.toLowerCase();
    if (key === "arrowright" || key === "arrowleft") {
      cards[Math.max(0, Math.min(cards.length - 1, index + (key === "arrowright" ? 1 : -1)))].focus();
    } else if (key === "y" || key === "n") {
      cards[index].querySelector(key === "y" ? "button.yes" : "button.no").click();
    } else {
      return;
    }
    e.preventDefault();
  });
  // After htmx replaces the queue, keep the keyboard on the first card.
  document.body.addEventListener("htmx:afterSwap", () => {
    const first = document.querySelector(".review-card");
    if (first) first.focus();
  });
})();
