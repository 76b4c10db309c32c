// dates.js is the page's pure logic about days, time zones and events:
// nothing here touches the DOM or the network, so node --test covers it
// across time zones (dates.test.js, run by go test ./static). "Local"
// means the browser's zone (in node, TZ).

export const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

function pad(n) {
  return String(n).padStart(2, '0');
}

function localDay(d) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate());
}

function addDays(d, n) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);
}

function dayKey(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function sameDay(a, b) {
  return dayKey(a) === dayKey(b);
}

function fromKey(key) {
  const [y, m, d] = key.split('-').map(Number);
  return new Date(y, m - 1, d);
}

// startOfWeek is the local day the week of d begins on; firstDay is 0 for
// Sunday, as Date.getDay, 1 for Monday.
function startOfWeek(d, firstDay) {
  const day = localDay(d);
  return addDays(day, -((day.getDay() - firstDay + 7) % 7));
}

function formatOffset(minutes) {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

// localISO renders a Date in the browser's zone with its UTC offset.
function localISO(d) {
  return `${dayKey(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${formatOffset(-d.getTimezoneOffset())}`;
}

function addDaysISO(date, n) {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

const zoneFormatters = new Map();

function zoneFormatter(zone) {
  let f = zoneFormatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23',
      year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    zoneFormatters.set(zone, f);
  }
  return f;
}

// wallClock returns the date and time an instant shows in an IANA zone.
function wallClock(ms, zone) {
  const p = {};
  for (const { type, value } of zoneFormatter(zone).formatToParts(new Date(ms))) p[type] = value;
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour === '24' ? '00' : p.hour}:${p.minute}`, second: Number(p.second) };
}

// offsetMinutes returns a zone's UTC offset at an instant.
function offsetMinutes(ms, zone) {
  const w = wallClock(ms, zone);
  const [y, m, d] = w.date.split('-').map(Number);
  const [hh, mm] = w.time.split(':').map(Number);
  return Math.round((Date.UTC(y, m - 1, d, hh, mm, w.second) - Math.floor(ms / 1000) * 1000) / 60000);
}

// zonedISO turns a wall-clock date and time in an IANA zone into RFC 3339
// with that zone's offset at that moment, as the API requires. A time in a
// daylight-saving gap moves forward, as Go's time.Date does.
function zonedISO(date, time, zone) {
  const [y, m, d] = date.split('-').map(Number);
  const [hh, mm] = time.split(':').map(Number);
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  const guess = offsetMinutes(wall, zone);
  let ms = wall - guess * 60000;
  const actual = offsetMinutes(ms, zone); // differs near a transition
  if (actual !== guess) {
    const retry = wall - actual * 60000;
    // In a gap neither offset gives back the wall clock: take the one before
    // the transition, which moves the time forward.
    ms = offsetMinutes(retry, zone) === actual ? retry : wall - Math.min(guess, actual) * 60000;
  }
  const w = wallClock(ms, zone);
  return `${w.date}T${w.time}:00${formatOffset(offsetMinutes(ms, zone))}`;
}

// canonicalZone returns the zone's canonical IANA spelling, or '' when the
// browser does not know it.
function canonicalZone(zone) {
  if (!zone) return '';
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return '';
  }
}

// zoneOf is the zone an event's wall-clock times are read in.
function zoneOf(ev) {
  return canonicalZone(ev.time_zone) || (ev.all_day ? 'UTC' : browserZone);
}

// span returns the first and last local day an event covers. An end is
// exclusive: an all-day event ending at midnight does not cover that day.
function span(ev) {
  const start = Date.parse(ev.start);
  const end = ev.end ? Date.parse(ev.end) : NaN;
  const dayOf = ev.all_day ? (ms) => fromKey(wallClock(ms, zoneOf(ev)).date) : (ms) => localDay(new Date(ms));
  const first = dayOf(start);
  let last = first;
  if (end > start) {
    const l = dayOf(end - 1);
    if (l > first) last = l;
  }
  return { first, last };
}

function compareEvents(a, b) {
  if (a.all_day !== b.all_day) return a.all_day ? -1 : 1;
  return Date.parse(a.start) - Date.parse(b.start) || a.title.localeCompare(b.title) || a.id.localeCompare(b.id);
}

// upcomingByDay groups events (sorted with compareEvents) under the local
// day they are listed on from today: each under its first day, or today
// for one under way; those over before today are left out. It returns the
// day keys in order, each with its events.
function upcomingByDay(events, today) {
  const groups = new Map(); // day key -> events
  for (const ev of [...events].sort(compareEvents)) {
    const { first, last } = span(ev);
    if (last < today) continue;
    const key = dayKey(first < today ? today : first);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(ev);
  }
  return [...groups.keys()].sort().map((key) => ({ day: fromKey(key), events: groups.get(key) }));
}

// weekBuckets puts each event (sorted) in every day of the week from
// weekStart that it covers.
function weekBuckets(events, weekStart) {
  const days = Array.from({ length: 7 }, (_, i) => addDays(weekStart, i));
  const buckets = days.map(() => []);
  for (const ev of [...events].sort(compareEvents)) {
    const { first, last } = span(ev);
    days.forEach((d, i) => {
      if (d >= first && d <= last) buckets[i].push(ev);
    });
  }
  return days.map((day, i) => ({ day, events: buckets[i] }));
}

export {
  pad,
  localDay,
  addDays,
  dayKey,
  sameDay,
  fromKey,
  startOfWeek,
  formatOffset,
  localISO,
  addDaysISO,
  zoneFormatter,
  wallClock,
  offsetMinutes,
  zonedISO,
  canonicalZone,
  zoneOf,
  span,
  compareEvents,
  upcomingByDay,
  weekBuckets,
};
