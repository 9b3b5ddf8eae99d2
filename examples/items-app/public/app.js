// items-app client: list, add and delete items through the JSON API.
//
// Item names are user input. They are only ever put into the page with
// textContent (never innerHTML), so a name like <img src=x onerror=...>
// shows up as literal text instead of running.

const list = document.getElementById("items");
const form = document.getElementById("add-form");
const input = document.getElementById("item-name");
const status = document.getElementById("app-status");

/** fetch() wrapper: on 401 the session is gone, so go back to the sign-in page. */
async function api(path, options = {}) {
  const resp = await fetch(path, { credentials: "same-origin", ...options });
  if (resp.status === 401) {
    location.href = "/login.html";
    throw new Error("unauthorized");
  }
  const data = await resp.json().catch(() => null);
  if (!resp.ok) throw new Error((data && data.error) || `HTTP ${resp.status}`);
  return data;
}

function showError(err) {
  status.textContent = err ? String(err.message || err) : "";
}

/** Build one <li> for an item, using DOM APIs only. */
function renderItem(item) {
  const li = document.createElement("li");
  const name = document.createElement("span");
  name.textContent = item.name; // text, never HTML
  const del = document.createElement("button");
  del.type = "button";
  del.textContent = "Delete";
  del.dataset.id = String(item.id);
  del.setAttribute("aria-label", "Delete item");
  li.append(name, del);
  return li;
}

async function loadItems() {
  const items = await api("/api/items");
  if (items.length === 0) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "No items yet.";
    list.replaceChildren(li);
  } else {
    list.replaceChildren(...items.map(renderItem));
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = input.value.trim();
  if (!name) return;
  try {
    // JSON content type is required by the Worker (CSRF defence).
    await api("/api/items", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name }),
    });
    input.value = "";
    showError(null);
    await loadItems();
  } catch (err) {
    showError(err);
  }
});

// One listener for all delete buttons (event delegation).
list.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-id]");
  if (!button) return;
  button.disabled = true;
  try {
    await api(`/api/items/${encodeURIComponent(button.dataset.id)}`, { method: "DELETE" });
    showError(null);
    await loadItems();
  } catch (err) {
    button.disabled = false;
    showError(err);
  }
});

loadItems().catch(showError);
