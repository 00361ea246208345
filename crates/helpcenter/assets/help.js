// The help center's one script: article suggestions while the reader types, in the search
// box and in the contact form. Everything works without it; suggestions only shorten the way.
// Results are written with textContent and DOM nodes, never as HTML.

const WAIT_MS = 150;

function debounce(fn) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), WAIT_MS);
  };
}

async function fetchSuggestions(q, lang) {
  const url = `/help/suggest?q=${encodeURIComponent(q)}&lang=${encodeURIComponent(lang)}`;
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) return [];
  const body = await response.json();
  return Array.isArray(body.items) ? body.items : [];
}

function render(list, items) {
  list.replaceChildren();
  for (const item of items) {
    const li = document.createElement("li");
    li.setAttribute("role", "option");
    const a = document.createElement("a");
    a.href = item.url;
    a.textContent = item.title;
    li.append(a);
    if (item.summary) {
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = item.summary;
      li.append(p);
    }
    list.append(li);
  }
}

function attach(input) {
  const list = document.getElementById(input.getAttribute("aria-controls"));
  if (!list) return;
  // The contact form shows its list inside a box with a heading.
  const box = document.getElementById(input.dataset.suggestBox) || list;
  const lang = input.dataset.suggest;
  let latest = 0;
  const update = debounce(async () => {
    const q = input.value.trim();
    const ticket = ++latest;
    if (q.length < 3) {
      box.hidden = true;
      return;
    }
    let items = [];
    try {
      // A message's question is usually in its first words.
      items = await fetchSuggestions(q.slice(0, 200), lang);
    } catch {
      items = [];
    }
    if (ticket !== latest) return; // a newer request is on its way
    render(list, items);
    box.hidden = items.length === 0;
  });
  input.addEventListener("input", update);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") box.hidden = true;
    if (e.key === "ArrowDown" && !box.hidden) {
      const first = list.querySelector("a");
      if (first) {
        e.preventDefault();
        first.focus();
      }
    }
  });
  list.addEventListener("keydown", (e) => {
    const links = [...list.querySelectorAll("a")];
    const i = links.indexOf(document.activeElement);
    if (e.key === "ArrowDown" && i < links.length - 1) {
      e.preventDefault();
      links[i + 1].focus();
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      (i > 0 ? links[i - 1] : input).focus();
    } else if (e.key === "Escape") {
      box.hidden = true;
      input.focus();
    }
  });
}

for (const input of document.querySelectorAll("[data-suggest]")) attach(input);
