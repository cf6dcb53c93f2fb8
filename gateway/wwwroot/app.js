// The chat page: talks to the conversation API (/v1/conversations) of the server that serves it.
// The server keeps each conversation's history; this page keeps only the ids (and titles) of the
// conversations it made, in localStorage, plus the API key if the server needs one.
"use strict";

const storageKeys = {
  conversations: "chatcluster.conversations",
  current: "chatcluster.current",
  apiKey: "chatcluster.apiKey",
};

const elements = {
  list: document.getElementById("conversation-list"),
  newChat: document.getElementById("new-chat"),
  messages: document.getElementById("messages"),
  emptyHint: document.getElementById("empty-hint"),
  error: document.getElementById("error"),
  composer: document.getElementById("composer"),
  message: document.getElementById("message"),
  send: document.getElementById("send"),
  stop: document.getElementById("stop"),
  temperature: document.getElementById("temperature"),
  topP: document.getElementById("top-p"),
  maxTokens: document.getElementById("max-tokens"),
  systemPrompt: document.getElementById("system-prompt"),
  apiKey: document.getElementById("api-key"),
};

let conversations = loadConversations();
let currentId = localStorage.getItem(storageKeys.current);
let inFlight = null; // the AbortController of the reply being streamed

function loadConversations() {
  try {
    const stored = JSON.parse(localStorage.getItem(storageKeys.conversations) ?? "[]");
    return Array.isArray(stored) ? stored.filter(c => typeof c?.id === "string") : [];
  } catch {
    return [];
  }
}

function saveConversations() {
  localStorage.setItem(storageKeys.conversations, JSON.stringify(conversations));
  if (currentId) {
    localStorage.setItem(storageKeys.current, currentId);
  } else {
    localStorage.removeItem(storageKeys.current);
  }
}

function showError(message) {
  elements.error.textContent = message;
}

function clearError() {
  elements.error.textContent = "";
}

/** Calls the API; a non-2xx answer throws an Error carrying OpenAI's error message. */
async function api(path, options = {}) {
  const headers = { "Content-Type": "application/json" };
  const key = elements.apiKey.value.trim();
  if (key) {
    headers.Authorization = `Bearer ${key}`;
  }
  const response = await fetch(path, { ...options, headers });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body?.error?.message) {
        message = body.error.message;
      }
    } catch {
      // Not OpenAI's error body: the status line is all there is to say.
    }
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return response;
}

function renderSidebar() {
  elements.list.replaceChildren(...conversations.map(conversation => {
    const item = document.createElement("li");
    const open = document.createElement("button");
    open.type = "button";
    open.className = "open";
    open.textContent = conversation.title || "New conversation";
    open.title = open.textContent;
    if (conversation.id === currentId) {
      open.setAttribute("aria-current", "true");
    }
    open.addEventListener("click", () => openConversation(conversation.id));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "delete";
    remove.textContent = "×";
    remove.setAttribute("aria-label", `Delete conversation: ${open.textContent}`);
    remove.addEventListener("click", () => deleteConversation(conversation.id));
    item.append(open, remove);
    return item;
  }));
}

function addMessage(role, content) {
  elements.emptyHint.hidden = true;
  const element = document.createElement("div");
  element.className = "message";
  element.dataset.role = role;
  element.textContent = content;
  elements.messages.append(element);
  element.scrollIntoView({ block: "end" });
  return element;
}

function clearMessages() {
  elements.messages.replaceChildren(elements.emptyHint);
  elements.emptyHint.hidden = false;
}

async function openConversation(id) {
  if (inFlight) {
    return;
  }
  clearError();
  currentId = id;
  saveConversations();
  renderSidebar();
  clearMessages();
  try {
    const conversation = await (await api(`/v1/conversations/${encodeURIComponent(id)}`)).json();
    for (const message of conversation.messages) {
      addMessage(message.role, message.content);
    }
  } catch (error) {
    if (error.status === 404) {
      // Gone from the server (deleted, or made with another key): forget it here too.
      conversations = conversations.filter(c => c.id !== id);
      currentId = null;
      saveConversations();
      renderSidebar();
    }
    showError(error.message);
  }
}

async function deleteConversation(id) {
  clearError();
  try {
    await api(`/v1/conversations/${encodeURIComponent(id)}`, { method: "DELETE" });
  } catch (error) {
    if (error.status !== 404) {
      showError(error.message);
      return;
    }
  }
  conversations = conversations.filter(c => c.id !== id);
  if (currentId === id) {
    currentId = null;
    clearMessages();
  }
  saveConversations();
  renderSidebar();
}

function startNewChat() {
  if (inFlight) {
    return;
  }
  clearError();
  currentId = null;
  saveConversations();
  renderSidebar();
  clearMessages();
  elements.message.focus();
}

function samplingSettings() {
  const settings = {};
  const number = (input, name, parse) => {
    if (input.value.trim() !== "") {
      settings[name] = parse(input.value);
    }
  };
  number(elements.temperature, "temperature", Number.parseFloat);
  number(elements.topP, "top_p", Number.parseFloat);
  number(elements.maxTokens, "max_tokens", v => Number.parseInt(v, 10));
  return settings;
}

async function ensureConversation(firstMessage) {
  if (currentId) {
    return currentId;
  }
  const system = elements.systemPrompt.value.trim();
  const created = await (await api("/v1/conversations", {
    method: "POST",
    body: JSON.stringify(system ? { system } : {}),
  })).json();
  currentId = created.id;
  conversations.unshift({ id: created.id, title: firstMessage.slice(0, 60) });
  saveConversations();
  renderSidebar();
  return currentId;
}

/** Reads an SSE body, calling onEvent with each parsed data payload until [DONE]. */
async function readEvents(response, onEvent) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      return;
    }
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split("\n").filter(line => line.startsWith("data: ")).map(line => line.slice(6)).join("\n");
      if (data === "[DONE]") {
        return;
      }
      if (data) {
        onEvent(JSON.parse(data));
      }
    }
  }
}

function setBusy(busy) {
  elements.send.disabled = busy;
  elements.stop.disabled = !busy;
  elements.newChat.disabled = busy;
}

async function send(event) {
  event.preventDefault();
  const content = elements.message.value.trim();
  if (!content || inFlight) {
    return;
  }
  clearError();
  inFlight = new AbortController();
  setBusy(true);
  elements.message.value = "";
  addMessage("user", content);
  const reply = addMessage("assistant", "");
  reply.setAttribute("aria-busy", "true");
  let note = null;
  try {
    const id = await ensureConversation(content);
    const response = await api(`/v1/conversations/${encodeURIComponent(id)}/messages`, {
      method: "POST",
      body: JSON.stringify({ content, stream: true, ...samplingSettings() }),
      signal: inFlight.signal,
    });
    await readEvents(response, data => {
      if (data.error) {
        throw new Error(data.error.message);
      }
      if (typeof data.delta === "string") {
        reply.append(data.delta);
        reply.scrollIntoView({ block: "end" });
      }
      if (data.finish_reason === "length") {
        note = "Stopped at the token limit.";
      }
    });
  } catch (error) {
    if (error.name === "AbortError") {
      note = "Stopped; this exchange was not saved.";
    } else {
      showError(error.message);
      if (!reply.textContent) {
        reply.remove();
      }
    }
  } finally {
    reply.removeAttribute("aria-busy");
    if (note && reply.isConnected) {
      const small = document.createElement("span");
      small.className = "note";
      small.textContent = note;
      reply.append(small);
    }
    inFlight = null;
    setBusy(false);
    elements.message.focus();
  }
}

elements.apiKey.value = localStorage.getItem(storageKeys.apiKey) ?? "";
elements.apiKey.addEventListener("change", () => {
  localStorage.setItem(storageKeys.apiKey, elements.apiKey.value.trim());
  if (currentId) {
    openConversation(currentId);
  }
});
elements.composer.addEventListener("submit", send);
elements.message.addEventListener("keydown", event => {
  // Enter sends, Shift+Enter makes a new line, as in most chat apps.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    elements.composer.requestSubmit();
  }
});
elements.stop.addEventListener("click", () => inFlight?.abort());
elements.newChat.addEventListener("click", startNewChat);

renderSidebar();
if (currentId) {
  openConversation(currentId);
}
