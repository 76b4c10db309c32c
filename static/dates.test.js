// Unit tests of dates.js: node --test static/, with TZ set to the zone the
// "browser" is in. go test ./static runs them in several zones (see
// dates_test.go); each case says what must hold in any of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  browserZone, localDay, addDays, dayKey, fromKey, startOfWeek, formatOffset, localISO, addDaysISO,
  wallClock, offsetMinutes, zonedISO, canonicalZone, zoneOf, span, compareEvents, upcomingByDay, weekBuckets,
} from './dates.js';

test('the browser zone is the one the test runs in', () => {
  assert.equal(browserZone, process.env.TZ || browserZone);
});

test('zonedISO writes a wall-clock time with the zone offset of that date', () => {
  assert.equal(zonedISO('2026-12-01', '09:00', 'Europe/Paris'), '2026-12-01T09:00:00+01:00');
  assert.equal(zonedISO('2026-07-01', '09:00', 'Europe/Paris'), '2026-07-01T09:00:00+02:00');
  assert.equal(zonedISO('2026-12-01', '09:00', 'Pacific/Kiritimati'), '2026-12-01T09:00:00+14:00');
  assert.equal(zonedISO('2026-12-01', '09:00', 'America/St_Johns'), '2026-12-01T09:00:00-03:30');
  assert.equal(zonedISO('2026-12-01', '23:30', 'UTC'), '2026-12-01T23:30:00+00:00');
});

test('zonedISO across a DST change: 09:00 stays 09:00, a time in the gap moves forward', () => {
  // Paris springs forward on 2027-03-28 at 02:00 and falls back on 2026-10-25 at 03:00.
  assert.equal(zonedISO('2027-03-27', '09:00', 'Europe/Paris'), '2027-03-27T09:00:00+01:00');
  assert.equal(zonedISO('2027-03-28', '09:00', 'Europe/Paris'), '2027-03-28T09:00:00+02:00');
  assert.equal(zonedISO('2027-03-28', '02:30', 'Europe/Paris'), '2027-03-28T03:30:00+02:00');
  // The repeated hour has two instants; either is that wall-clock time, and
  // the API accepts either (it checks the offset is the zone's at the instant).
  for (const [date, time, zone, offsets] of [['2026-10-25', '02:30', 'Europe/Paris', ['+01:00', '+02:00']], ['2026-11-01', '01:30', 'America/New_York', ['-04:00', '-05:00']]]) {
    const iso = zonedISO(date, time, zone);
    assert.ok(offsets.some((o) => iso === `${date}T${time}:00${o}`), iso);
    assert.equal(wallClock(Date.parse(iso), zone).time, time);
  }
  assert.equal(zonedISO('2027-03-14', '02:30', 'America/New_York'), '2027-03-14T03:30:00-04:00');
});

test('wallClock and offsetMinutes read an instant in any zone', () => {
  const ms = Date.parse('2026-12-31T23:30:00Z');
  assert.deepEqual(wallClock(ms, 'Pacific/Kiritimati'), { date: '2027-01-01', time: '13:30', second: 0 });
  assert.deepEqual(wallClock(ms, 'America/Los_Angeles'), { date: '2026-12-31', time: '15:30', second: 0 });
  assert.equal(offsetMinutes(ms, 'Pacific/Kiritimati'), 14 * 60);
  assert.equal(offsetMinutes(ms, 'Asia/Kolkata'), 5 * 60 + 30);
  assert.equal(offsetMinutes(Date.parse('2026-07-01T12:00:00Z'), 'Europe/Paris'), 120);
  assert.equal(formatOffset(-210), '-03:30');
  assert.equal(formatOffset(840), '+14:00');
});

test('localISO writes a local time with the local offset, and reads back as the same instant', () => {
  for (const iso of ['2026-12-01T09:00:00Z', '2027-03-28T01:30:00Z', '2026-10-25T00:30:00Z', '2026-06-15T23:59:59Z']) {
    const d = new Date(iso);
    const local = localISO(d);
    assert.match(local, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
    assert.equal(Date.parse(local), d.getTime(), `${iso} as ${local}`);
  }
});

test('days: keys, adding days over a DST change and a year end, weeks', () => {
  const d = fromKey('2027-03-27');
  assert.equal(dayKey(addDays(d, 1)), '2027-03-28');
  assert.equal(dayKey(addDays(d, 2)), '2027-03-29'); // not 2027-03-28T23:00 in Paris
  assert.equal(dayKey(addDays(fromKey('2026-12-31'), 1)), '2027-01-01');
  assert.equal(addDaysISO('2026-12-31', 1), '2027-01-01');
  assert.equal(addDaysISO('2027-03-01', -1), '2027-02-28');
  assert.equal(dayKey(localDay(new Date(2026, 11, 1, 23, 59))), '2026-12-01');
  // 2026-12-03 is a Thursday.
  assert.equal(dayKey(startOfWeek(fromKey('2026-12-03'), 1)), '2026-11-30');
  assert.equal(dayKey(startOfWeek(fromKey('2026-12-03'), 0)), '2026-11-29');
  assert.equal(dayKey(startOfWeek(fromKey('2026-11-30'), 1)), '2026-11-30');
  assert.equal(dayKey(startOfWeek(fromKey('2027-03-31'), 1)), '2027-03-29');
});

test('zones: canonical spelling, unknown zones, defaults', () => {
  assert.equal(canonicalZone('Europe/Paris'), 'Europe/Paris');
  assert.equal(canonicalZone('Mars/Olympus'), '');
  assert.equal(canonicalZone(''), '');
  assert.equal(zoneOf({ time_zone: 'Asia/Tokyo' }), 'Asia/Tokyo');
  assert.equal(zoneOf({ time_zone: '' }), browserZone);
  assert.equal(zoneOf({ all_day: true }), 'UTC');
});

test('span: an event covers the local days it touches; an end is exclusive', () => {
  // An all-day event is read in its own zone, whatever the browser's.
  const conference = { all_day: true, time_zone: 'Europe/Lisbon', start: '2026-12-03T00:00:00Z', end: '2026-12-05T00:00:00Z' };
  const s = span(conference);
  assert.equal(dayKey(s.first), '2026-12-03');
  assert.equal(dayKey(s.last), '2026-12-04');
  const oneDay = { all_day: true, time_zone: 'Pacific/Kiritimati', start: '2026-12-03T00:00:00+14:00', end: '2026-12-04T00:00:00+14:00' };
  assert.equal(dayKey(span(oneDay).first), '2026-12-03');
  assert.equal(dayKey(span(oneDay).last), '2026-12-03');
  // A timed event is on the browser's local days.
  const start = new Date(2026, 11, 1, 23, 0);
  const end = new Date(2026, 11, 2, 1, 0);
  const late = { start: start.toISOString(), end: end.toISOString() };
  assert.equal(dayKey(span(late).first), '2026-12-01');
  assert.equal(dayKey(span(late).last), '2026-12-02');
  const untilMidnight = { start: new Date(2026, 11, 1, 22, 0).toISOString(), end: new Date(2026, 11, 2, 0, 0).toISOString() };
  assert.equal(dayKey(span(untilMidnight).last), '2026-12-01');
});

test('grouping by day: upcoming from today, ordered, all-day first', () => {
  const at = (y, m, d, h, mm = 0) => new Date(y, m - 1, d, h, mm).toISOString();
  const events = [
    { id: 'c', title: 'Lunch', start: at(2026, 12, 2, 12) },
    { id: 'a', title: 'Dentist', start: at(2026, 12, 2, 9) },
    { id: 'old', title: 'Yesterday', start: at(2026, 11, 30, 9), end: at(2026, 11, 30, 10) },
    { id: 'now', title: 'Under way', start: at(2026, 11, 30, 22), end: at(2026, 12, 1, 10) },
    { id: 'b', title: 'Holiday', all_day: true, time_zone: browserZone, start: zonedISO('2026-12-02', '00:00', browserZone), end: zonedISO('2026-12-03', '00:00', browserZone) },
  ];
  const today = fromKey('2026-12-01');
  const days = upcomingByDay(events, today);
  assert.deepEqual(days.map((d) => dayKey(d.day)), ['2026-12-01', '2026-12-02']);
  assert.deepEqual(days[0].events.map((e) => e.id), ['now']);
  assert.deepEqual(days[1].events.map((e) => e.id), ['b', 'a', 'c']);
  assert.equal(compareEvents(events[1], events[0]) < 0, true);

  const week = weekBuckets(events, fromKey('2026-11-30'));
  assert.equal(week.length, 7);
  assert.deepEqual(week.map((d) => d.events.map((e) => e.id).join(',')), ['old,now', 'now', 'b,a,c', '', '', '', '']);
});
