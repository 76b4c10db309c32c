// agenda.js draws the signed-in page. It keeps the person's events in a Map
// fed by /ws (a snapshot, then one message per committed change), shows them
// as an upcoming list or a week in the browser's time zone, and writes
// through /api/events with the session cookie. A plain ES module: no build
// step, no dependency; it builds DOM nodes with textContent only, so no event
// text is ever parsed as HTML. The pure logic about days and zones is in
// dates.js.

import {
  browserZone,
  pad,
  localDay,
  addDays,
  dayKey,
  sameDay,
  startOfWeek,
  localISO,
  addDaysISO,
  wallClock,
  zonedISO,
  canonicalZone,
  zoneOf,
  span,
  upcomingByDay,
  weekBuckets,
} from './dates.js';

const FLASH_MS = 2500; // how long a changed event stays highlighted
const RETRY_BASE_MS = 1000; // first reconnect delay
const RETRY_MAX_MS = 30000; // reconnect delay ceiling
const DAY_MS = 86400000;

const $ = (id) => document.getElementById(id);
const root = $('agenda');
const apiPath = root.dataset.apiPath;
const wsPath = root.dataset.wsPath;
const firstDayOfWeek = localeFirstDay(); // 0 = Sunday, as Date.getDay

const ui = {
  events: $('events'),
  connection: $('connection'),
  connectionText: $('connection-text'),
  pageError: $('page-error'),
  pageNotice: $('page-notice'),
  announcer: $('announcer'),
  viewButtons: [...document.querySelectorAll('.view-toggle [data-view]')],
  weekNav: $('week-nav'),
  weekLabel: $('week-label'),
};

const F = {
  dialog: $('event-dialog'),
  form: $('event-form'),
  heading: $('event-dialog-title'),
  error: $('form-error'),
  save: $('event-save'),
  cancel: $('event-cancel'),
  del: $('event-delete'),
  zones: $('time-zones'),
  title: $('event-title'),
  allDay: $('event-all-day'),
  startDate: $('event-start-date'),
  startTime: $('event-start-time'),
  endDate: $('event-end-date'),
  endTime: $('event-end-time'),
  zone: $('event-time-zone'),
  location: $('event-location'),
  notes: $('event-notes'),
};

const state = {
  events: new Map(), // id -> event, as the API sends it
  loaded: false, // a snapshot has arrived
  view: savedView(),
  weekStart: startOfWeek(new Date(), firstDayOfWeek),
  windowFrom: startOfWeek(new Date(), firstDayOfWeek), // the from= of the WebSocket
  flash: new Map(), // id -> time until which it is highlighted
  editing: null, // the event in the dialog, null when adding
  requestId: '', // makes a retried create idempotent
  stopped: false, // signed out, or open in too many tabs: no more reconnects
  skipped: new Set(), // ids of events this page cannot draw
  truncated: false, // the snapshot held only the earliest events
};

// CLOSE_TOO_MANY_TABS is the close code of a tab the server closed because
// the user opened too many newer ones (realtime.CloseTooManyConnections).
const CLOSE_TOO_MANY_TABS = 4001;

const fmt = {
  day: new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' }),
  dayYear: new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' }),
  date: new Intl.DateTimeFormat(undefined, { weekday: 'short', month: 'short', day: 'numeric' }),
  dateYear: new Intl.DateTimeFormat(undefined, { weekday: 'short', month: 'short', day: 'numeric', year: 'numeric' }),
  time: new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' }),
  dateTime: new Intl.DateTimeFormat(undefined, { weekday: 'short', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' }),
  week: new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', year: 'numeric' }),
  relative: new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }),
};

// ---- Dates -----------------------------------------------------------------

function localeFirstDay() {
  try {
    const locale = new Intl.Locale(navigator.language || 'en');
    const info = locale.getWeekInfo?.() ?? locale.weekInfo;
    if (info?.firstDay) return info.firstDay % 7;
  } catch {
    // an unknown locale: fall back to Monday
  }
  return 1;
}


function timeText(ev) {
  if (ev.all_day) {
    const { first, last } = span(ev);
    return last > first ? `All day, ${fmt.date.format(first)} – ${fmt.date.format(last)}` : 'All day';
  }
  const start = new Date(ev.start);
  const end = ev.end ? new Date(ev.end) : null;
  if (!end || end <= start) return fmt.time.format(start);
  if (sameDay(start, new Date(end - 1))) return `${fmt.time.format(start)} – ${fmt.time.format(end)}`;
  return `${fmt.dateTime.format(start)} – ${fmt.dateTime.format(end)}`;
}

// zoneNote shows the event's own local time when its zone shows another
// time than the browser's.
function zoneNote(ev) {
  if (ev.all_day || !ev.time_zone || ev.time_zone === browserZone) return '';
  try {
    const start = new Date(ev.start);
    const there = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit', timeZone: ev.time_zone }).format(start);
    return there === fmt.time.format(start) ? '' : `${there} in ${ev.time_zone.replaceAll('_', ' ')}`;
  } catch {
    return '';
  }
}

// ---- Drawing ---------------------------------------------------------------

function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'dataset') Object.assign(node.dataset, v);
    else node[k] = v;
  }
  node.append(...children);
  return node;
}

function render() {
  ui.weekNav.hidden = state.view !== 'week';
  if (state.view === 'week') ui.weekLabel.textContent = weekLabel();
  if (!state.loaded) return;
  const focus = rememberFocus();
  ui.events.dataset.view = state.view;
  ui.events.replaceChildren(state.view === 'week' ? renderWeek() : renderList());
  restoreFocus(focus);
  scheduleFlashEnd();
}

function renderList() {
  const today = localDay(new Date());
  const days = upcomingByDay(state.events.values(), today);
  const frag = document.createDocumentFragment();
  if (days.length === 0) {
    frag.append(h('p', { className: 'empty', id: 'empty' },
      'Nothing on your agenda from today on. Ask your GPT to plan something, or add an event.'));
    return frag;
  }
  for (const { day, events } of days) frag.append(daySection(day, events, today, '', false));
  return frag;
}

function renderWeek() {
  const today = localDay(new Date());
  const grid = h('div', { className: 'week' });
  for (const { day, events } of weekBuckets(state.events.values(), state.weekStart)) {
    grid.append(daySection(day, events, today, 'Nothing planned', true));
  }
  return grid;
}

function weekLabel() {
  const first = state.weekStart;
  const last = addDays(first, 6);
  try {
    return fmt.week.formatRange(first, last);
  } catch {
    return `${fmt.week.format(first)} – ${fmt.week.format(last)}`;
  }
}

// daySection draws one day; compact (the week's columns) uses short names.
function daySection(day, events, today, emptyText, compact) {
  const key = dayKey(day);
  const section = h('section', { className: 'day', dataset: { day: key } });
  const headingId = `day-${key}`;
  section.setAttribute('aria-labelledby', headingId);
  const thisYear = day.getFullYear() === today.getFullYear();
  const label = (compact ? (thisYear ? fmt.date : fmt.dateYear) : (thisYear ? fmt.day : fmt.dayYear)).format(day);
  const heading = h('h2', { className: 'day-heading', id: headingId }, h('time', { dateTime: key }, label));
  const diff = Math.round((day - today) / DAY_MS);
  if (diff === 0) {
    section.classList.add('today');
    section.setAttribute('aria-current', 'date');
  }
  if (diff === 0 || diff === 1) heading.append(' ', h('span', { className: 'badge' }, fmt.relative.format(diff, 'day')));
  section.append(heading);
  if (events.length === 0) {
    section.append(h('p', { className: 'empty' }, emptyText));
  } else {
    section.append(h('ul', { className: 'event-list' }, ...events.map(eventItem)));
  }
  return section;
}

function eventItem(ev) {
  const li = h('li', { className: ev.all_day ? 'event all-day' : 'event', dataset: { eventId: ev.id } });
  if ((state.flash.get(ev.id) ?? 0) > Date.now()) li.classList.add('changed');
  const when = h('p', { className: 'event-time' }, h('time', { dateTime: ev.start }, timeText(ev)));
  const note = zoneNote(ev);
  if (note) when.append(' ', h('span', { className: 'event-zone' }, `(${note})`));
  const body = h('div', { className: 'event-body' }, when, h('h3', { className: 'event-title' }, ev.title));
  if (ev.location) {
    body.append(h('p', { className: 'event-location' }, h('span', { className: 'visually-hidden' }, 'Location: '), ev.location));
  }
  if (ev.notes) body.append(h('p', { className: 'event-notes' }, ev.notes));
  const edit = h('button', { type: 'button', className: 'button quiet edit', dataset: { action: 'edit' } }, 'Edit');
  edit.setAttribute('aria-label', `Edit “${ev.title}”`);
  li.append(body, edit);
  return li;
}

// A redraw replaces the nodes; keep the keyboard where it was.
function rememberFocus() {
  const active = document.activeElement;
  const item = active?.closest?.('[data-event-id]');
  return item && ui.events.contains(item) ? { id: item.dataset.eventId, action: active.dataset.action } : null;
}

function restoreFocus(f) {
  if (!f) return;
  const item = ui.events.querySelector(`[data-event-id="${CSS.escape(f.id)}"]`);
  const target = f.action ? item?.querySelector(`[data-action="${CSS.escape(f.action)}"]`) : item;
  target?.focus({ preventScroll: true });
}

let flashTimer = 0;

function scheduleFlashEnd() {
  clearTimeout(flashTimer);
  const now = Date.now();
  let next = Infinity;
  for (const [id, until] of state.flash) {
    if (until <= now) state.flash.delete(id);
    else next = Math.min(next, until);
  }
  if (next === Infinity) return;
  flashTimer = setTimeout(() => {
    for (const node of ui.events.querySelectorAll('.changed')) {
      if ((state.flash.get(node.dataset.eventId) ?? 0) <= Date.now()) node.classList.remove('changed');
    }
    scheduleFlashEnd();
  }, next - now + 20);
}

function announce(text) {
  ui.announcer.textContent = text;
}

function showError(node, err) {
  node.replaceChildren(err.message);
  if (err.status === 401) node.append(' ', h('a', { href: '/sign-in' }, 'Sign in again'));
  node.hidden = false;
}

function hideError(node) {
  node.hidden = true;
  node.replaceChildren();
}

// ---- Live updates ----------------------------------------------------------

const CONNECTION_TEXT = { connecting: 'Connecting…', live: 'Live', offline: 'Offline, reconnecting…' };

function setConnection(s, text = CONNECTION_TEXT[s]) {
  ui.connection.dataset.state = s;
  if (ui.connectionText.textContent !== text) ui.connectionText.textContent = text;
}

// upsert stores an event unless it is already known in this or a newer
// version (the API's answer and the push of the same change both arrive).
function upsert(ev) {
  const old = state.events.get(ev.id);
  if (old && (old.updated_at > ev.updated_at || JSON.stringify(old) === JSON.stringify(ev))) return false;
  const kept = keep(ev);
  showNotice();
  if (!kept) {
    render();
    return false;
  }
  state.flash.set(ev.id, Date.now() + FLASH_MS);
  render();
  return true;
}

// drawable reports whether the page can show ev. One event with a date
// this browser cannot format (an older server let years past 9999 in) must
// not stop the page from showing all the others.
function drawable(ev) {
  try {
    if (!Number.isFinite(Date.parse(ev.start)) || (ev.end && !Number.isFinite(Date.parse(ev.end)))) return false;
    span(ev);
    timeText(ev);
    return true;
  } catch {
    return false;
  }
}

// keep stores ev if the page can draw it, and otherwise counts it as
// skipped; it reports whether ev was stored.
function keep(ev) {
  if (drawable(ev)) {
    state.skipped.delete(ev.id);
    state.events.set(ev.id, ev);
    return true;
  }
  state.skipped.add(ev.id);
  state.events.delete(ev.id);
  return false;
}

function showNotice() {
  const lines = [];
  const n = state.skipped.size;
  if (n) lines.push(`${n} event${n === 1 ? '' : 's'} could not be shown: ${n === 1 ? 'its date is' : 'their dates are'} out of range. Ask your GPT to fix or delete ${n === 1 ? 'it' : 'them'}.`);
  if (state.truncated) lines.push('Showing the earliest events only: there are more than the live view holds.');
  ui.pageNotice.textContent = lines.join(' ');
  ui.pageNotice.hidden = lines.length === 0;
}

function remove(id) {
  if (state.skipped.delete(id)) showNotice();
  const old = state.events.get(id);
  if (!old) return null;
  state.events.delete(id);
  state.flash.delete(id);
  render();
  if (state.editing?.id === id && F.dialog.open) {
    showError(F.error, new Error('This event has just been deleted.'));
    F.save.disabled = true;
    F.del.hidden = true;
  }
  return old;
}

function applyMessage(msg) {
  switch (msg?.type) {
    case 'snapshot':
      state.events = new Map();
      state.skipped = new Set();
      for (const ev of msg.events ?? []) if (ev?.id) keep(ev);
      state.truncated = msg.truncated === true;
      showNotice();
      state.loaded = true;
      retries = 0;
      ui.events.setAttribute('aria-busy', 'false');
      hideError(ui.pageError);
      setConnection('live');
      render();
      break;
    case 'event.created':
    case 'event.updated':
      if (msg.event?.id && upsert(msg.event)) {
        announce(`${msg.type === 'event.created' ? 'Added' : 'Updated'} “${msg.event.title}”`);
      }
      break;
    case 'event.deleted': {
      const old = msg.event?.id && remove(msg.event.id);
      if (old) announce(`Deleted “${old.title}”`);
      break;
    }
    default:
      // a message type this page does not know: ignore it
  }
}

let socket = null;
let retries = 0;
let retryTimer = 0;

function connect() {
  clearTimeout(retryTimer);
  if (state.stopped) return;
  if (socket) {
    const old = socket;
    socket = null;
    old.close();
  }
  setConnection('connecting');
  const url = new URL(wsPath, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('from', localISO(state.windowFrom));
  let ws;
  try {
    ws = new WebSocket(url);
  } catch {
    reconnectLater();
    return;
  }
  socket = ws;
  ws.addEventListener('message', (e) => {
    if (socket !== ws) return;
    let msg;
    try {
      msg = JSON.parse(e.data);
    } catch {
      return;
    }
    applyMessage(msg);
  });
  ws.addEventListener('close', (e) => {
    if (socket !== ws) return;
    socket = null;
    if (e.code === CLOSE_TOO_MANY_TABS) {
      // Reconnecting would close another tab, which would reconnect too.
      state.stopped = true;
      setConnection('offline', 'Paused');
      ui.pageNotice.textContent = 'Paused: your agenda is open in too many other tabs. Reload this page to use it here.';
      ui.pageNotice.hidden = false;
      return;
    }
    reconnectLater();
  });
}

// reconnectLater waits with exponential backoff and jitter (half the delay
// fixed, half random), so a restarted server is not hit by every browser at
// once. After a second failure it checks whether the session has ended.
async function reconnectLater() {
  setConnection('offline');
  retries++;
  if (retries >= 2 && await sessionEnded()) return;
  if (socket || state.stopped) return; // something reconnected meanwhile
  const ceiling = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (retries - 1));
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, ceiling / 2 + Math.random() * ceiling / 2);
}

async function sessionEnded() {
  try {
    const res = await fetch(`${apiPath}?limit=1`, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (res.status !== 401) return false;
  } catch {
    return false; // offline: keep retrying
  }
  state.stopped = true;
  setConnection('offline', 'Signed out');
  showError(ui.pageError, Object.assign(new Error('Your session has ended.'), { status: 401 }));
  return true;
}

window.addEventListener('online', () => {
  if (!socket && !state.stopped) {
    retries = 0;
    connect();
  }
});

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && !socket && !state.stopped) connect();
});

// ---- Writing ---------------------------------------------------------------

class ProblemError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

// api calls /api/events with the session cookie, and
// turns a problem+json answer into a ProblemError carrying its detail.
async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, credentials: 'same-origin', headers, body: body ? JSON.stringify(body) : undefined });
  } catch {
    throw new ProblemError(0, 'The server cannot be reached. Check your connection and try again.');
  }
  if (res.ok) return res.status === 204 ? null : res.json();
  if (res.status === 401) throw new ProblemError(401, 'Your session has ended.');
  let detail = '';
  try {
    const problem = await res.json();
    detail = problem.detail || problem.title || '';
  } catch {
    // not JSON: fall back to the status
  }
  throw new ProblemError(res.status, detail || `The server answered ${res.status} ${res.statusText}.`.replace(' .', '.'));
}

function newRequestId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => pad(b.toString(16))).join('');
}

let openerId = '';

function openForm(ev) {
  hideError(F.error);
  state.editing = ev ?? null;
  state.requestId = ev ? '' : newRequestId();
  openerId = ev?.id ?? '';
  F.heading.textContent = ev ? 'Edit event' : 'Add event';
  F.del.hidden = !ev;
  resetDelete();
  F.save.disabled = false;
  fillZones();

  if (ev) {
    const zone = zoneOf(ev);
    const startMs = Date.parse(ev.start);
    const start = wallClock(startMs, zone);
    F.title.value = ev.title;
    F.allDay.checked = ev.all_day;
    F.zone.value = zone;
    F.startDate.value = start.date;
    F.startTime.value = ev.all_day ? '09:00' : start.time;
    F.endDate.value = '';
    F.endTime.value = '';
    const endMs = ev.end ? Date.parse(ev.end) : NaN;
    if (ev.all_day && endMs > startMs) {
      F.endDate.value = wallClock(endMs - 1, zone).date;
    } else if (!ev.all_day && endMs >= startMs) {
      const end = wallClock(endMs, zone);
      F.endDate.value = end.date;
      F.endTime.value = end.time;
    }
    F.location.value = ev.location ?? '';
    F.notes.value = ev.notes ?? '';
  } else {
    const now = new Date();
    const start = new Date(now.getFullYear(), now.getMonth(), now.getDate(), now.getHours() + 1);
    const s = wallClock(start.getTime(), browserZone);
    const e = wallClock(start.getTime() + 3600000, browserZone);
    F.title.value = '';
    F.allDay.checked = false;
    F.zone.value = browserZone;
    F.startDate.value = s.date;
    F.startTime.value = s.time;
    F.endDate.value = e.date;
    F.endTime.value = e.time;
    F.location.value = '';
    F.notes.value = '';
  }
  syncAllDay();
  F.dialog.showModal();
  F.title.focus();
}

function syncAllDay() {
  const allDay = F.allDay.checked;
  for (const node of F.form.querySelectorAll('.time-field')) node.hidden = allDay;
  F.startTime.required = !allDay; // a hidden required field would block the form
}

let zonesFilled = false;

function fillZones() {
  if (zonesFilled) return;
  zonesFilled = true;
  const zones = Intl.supportedValuesOf?.('timeZone') ?? [browserZone];
  F.zones.replaceChildren(...zones.map((z) => h('option', { value: z })));
}

// formValues reads the form as the API wants it: times with the offset of
// the chosen zone at that moment.
function formValues() {
  const zone = canonicalZone(F.zone.value.trim());
  if (!zone) {
    throw new ProblemError(0, `“${F.zone.value.trim()}” is not a time zone this browser knows; choose one from the list, like ${browserZone}.`);
  }
  const allDay = F.allDay.checked;
  const start = zonedISO(F.startDate.value, allDay ? '00:00' : F.startTime.value, zone);
  let end = null;
  if (allDay && F.endDate.value) {
    end = zonedISO(addDaysISO(F.endDate.value, 1), '00:00', zone); // the end is exclusive
  } else if (!allDay && (F.endDate.value || F.endTime.value)) {
    if (!F.endTime.value) throw new ProblemError(0, 'Give the end a time too, or clear its date.');
    end = zonedISO(F.endDate.value || F.startDate.value, F.endTime.value, zone);
  }
  return {
    title: F.title.value.trim(),
    start,
    end,
    time_zone: zone,
    all_day: allDay,
    location: F.location.value.trim(),
    notes: F.notes.value,
  };
}

function createBody() {
  const v = formValues();
  const body = { ...v, request_id: state.requestId };
  if (v.end === null) delete body.end;
  return body;
}

// patchBody sends only what changed, so an edit here does not undo a change
// the GPT made meanwhile to another field.
function patchBody(ev) {
  const v = formValues();
  const b = {};
  if (v.title !== ev.title) b.title = v.title;
  if (v.location !== (ev.location ?? '')) b.location = v.location;
  if (v.notes !== (ev.notes ?? '')) b.notes = v.notes;
  if (v.all_day !== ev.all_day) b.all_day = v.all_day;
  const zoneChanged = v.time_zone !== (ev.time_zone ?? '');
  if (zoneChanged) b.time_zone = v.time_zone;
  if (zoneChanged || Date.parse(v.start) !== Date.parse(ev.start)) b.start = v.start;
  if (v.end === null) {
    if (ev.end) b.end = ''; // the API's way to remove the end
  } else if (zoneChanged || !ev.end || Date.parse(v.end) !== Date.parse(ev.end)) {
    b.end = v.end;
  }
  return b;
}

function setBusy(busy) {
  F.form.setAttribute('aria-busy', String(busy));
  for (const b of [F.save, F.del]) b.disabled = busy;
}

function resetDelete() {
  delete F.del.dataset.confirm;
  F.del.textContent = 'Delete';
}

F.form.addEventListener('submit', async (e) => {
  e.preventDefault();
  hideError(F.error);
  const ev = state.editing;
  let body;
  try {
    body = ev ? patchBody(ev) : createBody();
  } catch (err) {
    showError(F.error, err);
    return;
  }
  if (ev && Object.keys(body).length === 0) {
    F.dialog.close();
    return;
  }
  setBusy(true);
  try {
    const saved = ev
      ? await api('PATCH', `${apiPath}/${encodeURIComponent(ev.id)}`, body)
      : await api('POST', apiPath, body);
    if (saved?.id) {
      openerId = saved.id;
      if (upsert(saved)) announce(`${ev ? 'Updated' : 'Added'} “${saved.title}”`);
    }
    F.dialog.close();
  } catch (err) {
    showError(F.error, err);
  } finally {
    setBusy(false);
  }
});

// Deleting takes two presses of the same button: no modal confirm().
F.del.addEventListener('click', async () => {
  const ev = state.editing;
  if (!ev) return;
  if (!F.del.dataset.confirm) {
    F.del.dataset.confirm = 'true';
    F.del.textContent = 'Press again to delete';
    return;
  }
  setBusy(true);
  try {
    await api('DELETE', `${apiPath}/${encodeURIComponent(ev.id)}`);
    openerId = '';
    if (remove(ev.id)) announce(`Deleted “${ev.title}”`);
    F.dialog.close();
  } catch (err) {
    showError(F.error, err);
    resetDelete();
  } finally {
    setBusy(false);
  }
});

F.cancel.addEventListener('click', () => F.dialog.close());
F.allDay.addEventListener('change', syncAllDay);

F.dialog.addEventListener('close', () => {
  state.editing = null;
  const edit = openerId && ui.events.querySelector(`[data-event-id="${CSS.escape(openerId)}"] [data-action="edit"]`);
  (edit || $('add-event')).focus();
});

// ---- Views -----------------------------------------------------------------

function savedView() {
  try {
    return localStorage.getItem('agenda.view') === 'week' ? 'week' : 'list';
  } catch {
    return 'list';
  }
}

function setView(view) {
  state.view = view;
  try {
    localStorage.setItem('agenda.view', view);
  } catch {
    // storage disabled: the choice lasts for this page only
  }
  for (const b of ui.viewButtons) b.setAttribute('aria-pressed', String(b.dataset.view === view));
  render();
}

// showWeek moves the week view; a week before the loaded window widens it,
// which takes a new snapshot.
function showWeek(start) {
  state.weekStart = start;
  if (start < state.windowFrom) {
    state.windowFrom = start;
    connect();
  }
  render();
}

for (const b of ui.viewButtons) b.addEventListener('click', () => setView(b.dataset.view));
$('week-prev').addEventListener('click', () => showWeek(addDays(state.weekStart, -7)));
$('week-next').addEventListener('click', () => showWeek(addDays(state.weekStart, 7)));
$('week-today').addEventListener('click', () => showWeek(startOfWeek(new Date(), firstDayOfWeek)));
$('add-event').addEventListener('click', () => openForm(null));

ui.events.addEventListener('click', (e) => {
  const button = e.target.closest('[data-action="edit"]');
  const ev = button && state.events.get(button.closest('[data-event-id]').dataset.eventId);
  if (ev) openForm(ev);
});

// "Today" moves at midnight.
function scheduleMidnight() {
  const now = new Date();
  setTimeout(() => {
    render();
    scheduleMidnight();
  }, addDays(localDay(now), 1) - now + 1000);
}

setView(state.view);
connect();
scheduleMidnight();
