import { InputError } from "../../core/errors";

/**
 * A planned-maintenance window in a short form a person reads and writes in YAML, and the
 * MaintenanceWindow AKS stores (Microsoft.ContainerService maintenanceConfigurations, 2026-04-01).
 *
 *   <recurrence> <start HH:MM> <duration>h [<UTC offset ±HH:MM>] [from YYYY-MM-DD] [except YYYY-MM-DD..YYYY-MM-DD]…
 *
 * recurrence: `daily` | `every N days` | `weekly <day>` | `every N weeks <day>` | `monthly day D` |
 * `every N months day D` | `monthly <first|second|third|fourth|last> <day>` | `every N months <first…last> <day>`.
 * Examples: `weekly Sunday 01:00 4h +00:00`, `every 2 weeks Friday 22:00 6h -05:00`,
 * `monthly first Sunday 02:00 8h +01:00 except 2026-12-20..2027-01-03`, `daily 03:00 4h`.
 *
 * The limits are AKS's (the spec's MaintenanceWindow and schedule definitions): 4 to 24 hours; every 1-7
 * days, 1-4 weeks or 1-6 months; day of the month 1-31; start 00:00-23:59; offset ±HH:mm (no offset
 * means +00:00, as AKS defaults it). A window AKS would refuse is refused here, before any write.
 */

export const WEEK_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"] as const;
export type WeekDay = (typeof WEEK_DAYS)[number];
export const WEEK_INDEXES = ["First", "Second", "Third", "Fourth", "Last"] as const;
export type WeekIndex = (typeof WEEK_INDEXES)[number];

export type Schedule =
  | { kind: "daily"; intervalDays: number }
  | { kind: "weekly"; intervalWeeks: number; dayOfWeek: WeekDay }
  | { kind: "absoluteMonthly"; intervalMonths: number; dayOfMonth: number }
  | { kind: "relativeMonthly"; intervalMonths: number; weekIndex: WeekIndex; dayOfWeek: WeekDay };

export interface DateSpan {
  start: string;
  end: string;
}

export interface MaintenanceWindow {
  schedule: Schedule;
  durationHours: number;
  /** HH:MM, in the window's UTC offset. */
  startTime: string;
  /** ±HH:MM. */
  utcOffset: string;
  /** YYYY-MM-DD; when the window takes effect. */
  startDate?: string;
  notAllowedDates: DateSpan[];
}

/** What the input's help and every parse error say is accepted. */
export const WINDOW_FORM =
  "'<recurrence> <HH:MM> <hours>h [±HH:MM] [from YYYY-MM-DD] [except YYYY-MM-DD..YYYY-MM-DD]', the recurrence one of 'daily', 'every N days' (1-7), 'weekly <day>', 'every N weeks <day>' (1-4), 'monthly day <1-31>', 'monthly <first|second|third|fourth|last> <day>' or 'every N months …' (1-6); e.g. 'weekly Sunday 01:00 4h +00:00'";

const LIMITS = {
  days: { min: 1, max: 7 },
  weeks: { min: 1, max: 4 },
  months: { min: 1, max: 6 },
} as const;

function weekDay(token: string | undefined): WeekDay | undefined {
  if (!token) return undefined;
  const lower = token.toLowerCase();
  return WEEK_DAYS.find((day) => day.toLowerCase() === lower || (lower.length >= 3 && day.toLowerCase().startsWith(lower)));
}

function weekIndex(token: string | undefined): WeekIndex | undefined {
  return WEEK_INDEXES.find((index) => index.toLowerCase() === token?.toLowerCase());
}

function isDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const parsed = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(text);
}

/** Parses one window as typed in `input`; throws an InputError naming the input, the value and what is accepted. */
export function parseWindow(input: string, typed: string): MaintenanceWindow {
  const text = typed.replace(/(^|\s)#.*$/gm, "").trim();
  const fail = (problem: string): never => {
    throw new InputError(input, `'${text}': ${problem}. Write a window as ${WINDOW_FORM}.`);
  };
  const tokens = text.split(/[\s,]+/).filter(Boolean);
  let at = 0;
  const next = () => tokens[at++];
  const interval = (word: string | undefined, unit: keyof typeof LIMITS): number => {
    if (!word || !/^\d+$/.test(word)) return fail(`'every' must be followed by a number of ${unit}`);
    const n = Number(word);
    const { min, max } = LIMITS[unit];
    if (n < min || n > max) fail(`AKS allows every ${min} to ${max} ${unit}, not ${n}`);
    return n;
  };
  const dayAt = (what: string): WeekDay => weekDay(next()) ?? fail(`${what} must be followed by a day of the week (Sunday … Saturday)`);
  const monthly = (intervalMonths: number): Schedule => {
    const word = next();
    if (word?.toLowerCase() === "day") {
      const day = next();
      if (!day || !/^\d+$/.test(day) || Number(day) < 1 || Number(day) > 31)
        fail("'day' must be followed by a day of the month from 1 to 31");
      return { kind: "absoluteMonthly", intervalMonths, dayOfMonth: Number(day) };
    }
    const index = weekIndex(word);
    if (!index) return fail("a monthly window needs 'day <1-31>' or '<first|second|third|fourth|last> <day>'");
    return { kind: "relativeMonthly", intervalMonths, weekIndex: index, dayOfWeek: dayAt(`'${word}'`) };
  };

  let schedule: Schedule;
  const first = next()?.toLowerCase();
  if (first === "daily") schedule = { kind: "daily", intervalDays: 1 };
  else if (first === "weekly") schedule = { kind: "weekly", intervalWeeks: 1, dayOfWeek: dayAt("'weekly'") };
  else if (first === "monthly") schedule = monthly(1);
  else if (first === "every") {
    const count = tokens[at];
    const unit = tokens[at + 1]?.toLowerCase().replace(/s$/, "");
    if (count && /^[a-z]+$/i.test(count)) {
      // "every day", "every week Monday", "every month day 1"
      at++;
      const single = count.toLowerCase();
      if (single === "day") schedule = { kind: "daily", intervalDays: 1 };
      else if (single === "week") schedule = { kind: "weekly", intervalWeeks: 1, dayOfWeek: dayAt("'every week'") };
      else if (single === "month") schedule = monthly(1);
      else return fail(`'every ${count}' is not a recurrence`);
    } else if (unit === "day") {
      schedule = { kind: "daily", intervalDays: interval(next(), "days") };
      at++;
    } else if (unit === "week") {
      const n = interval(next(), "weeks");
      at++;
      schedule = { kind: "weekly", intervalWeeks: n, dayOfWeek: dayAt(`'every ${n} weeks'`) };
    } else if (unit === "month") {
      const n = interval(next(), "months");
      at++;
      schedule = monthly(n);
    } else {
      return fail("'every' must be followed by a number and days, weeks or months");
    }
  } else {
    return fail(first ? `'${tokens[0]}' is not a recurrence` : "the window is empty");
  }

  let startTime: string | undefined;
  let durationHours: number | undefined;
  let utcOffset: string | undefined;
  let startDate: string | undefined;
  const notAllowedDates: DateSpan[] = [];
  while (at < tokens.length) {
    const token = next()!;
    const lower = token.toLowerCase();
    const time = /^(\d{1,2}):(\d{2})$/.exec(token);
    const hours = /^(\d+)h(?:ours?)?$/i.exec(token);
    const offset = /^(?:utc)?([+-])(\d{1,2}):?(\d{2})$/i.exec(token);
    if (time) {
      if (startTime) fail(`two start times ('${startTime}' and '${token}')`);
      if (Number(time[1]) > 23 || Number(time[2]) > 59) fail(`'${token}' is not a time from 00:00 to 23:59`);
      startTime = `${time[1]!.padStart(2, "0")}:${time[2]}`;
    } else if (hours) {
      if (durationHours !== undefined) fail(`two durations ('${durationHours}h' and '${token}')`);
      durationHours = Number(hours[1]);
      if (durationHours < 4 || durationHours > 24) fail(`AKS allows a window of 4 to 24 hours, not ${durationHours}`);
    } else if (offset) {
      if (utcOffset) fail(`two UTC offsets ('${utcOffset}' and '${token}')`);
      const [h, m] = [Number(offset[2]), Number(offset[3])];
      // UTC offsets in use run from -12:00 to +14:00.
      if (m > 59 || h > 14 || (offset[1] === "-" && h > 12)) fail(`'${token}' is not a UTC offset (from -12:00 to +14:00)`);
      utcOffset = `${offset[1]}${String(h).padStart(2, "0")}:${offset[3]}`;
    } else if (lower === "utc") {
      if (utcOffset) fail(`two UTC offsets ('${utcOffset}' and '${token}')`);
      utcOffset = "+00:00";
    } else if (lower === "from") {
      const date = next();
      if (startDate) fail("two 'from' dates");
      if (!date || !isDate(date)) fail("'from' must be followed by a date (YYYY-MM-DD)");
      startDate = date;
    } else if (lower === "except") {
      const span = /^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$/.exec(next() ?? "");
      if (!span || !isDate(span[1]!) || !isDate(span[2]!)) fail("'except' must be followed by dates as YYYY-MM-DD..YYYY-MM-DD");
      if (span![1]! > span![2]!) fail(`'${span![0]}' ends before it starts`);
      notAllowedDates.push({ start: span![1]!, end: span![2]! });
    } else {
      fail(`'${token}' is neither a start time (HH:MM), a duration (e.g. 4h), a UTC offset (e.g. +01:00), 'from' nor 'except'`);
    }
  }
  if (!startTime) fail("the start time (HH:MM) is missing");
  if (durationHours === undefined) fail("the duration (4h to 24h) is missing");
  return {
    schedule,
    durationHours: durationHours!,
    startTime: startTime!,
    utcOffset: utcOffset ?? "+00:00",
    ...(startDate ? { startDate } : {}),
    notAllowedDates,
  };
}

function recurrence(schedule: Schedule): string {
  switch (schedule.kind) {
    case "daily":
      return schedule.intervalDays === 1 ? "daily" : `every ${schedule.intervalDays} days`;
    case "weekly":
      return `${schedule.intervalWeeks === 1 ? "weekly" : `every ${schedule.intervalWeeks} weeks`} ${schedule.dayOfWeek}`;
    case "absoluteMonthly":
      return `${schedule.intervalMonths === 1 ? "monthly" : `every ${schedule.intervalMonths} months`} day ${schedule.dayOfMonth}`;
    case "relativeMonthly":
      return `${schedule.intervalMonths === 1 ? "monthly" : `every ${schedule.intervalMonths} months`} ${schedule.weekIndex.toLowerCase()} ${schedule.dayOfWeek}`;
  }
}

/** The window in the input's own form, so the summary shows what to type to get it. */
export function describeWindow(window: MaintenanceWindow): string {
  return [
    recurrence(window.schedule),
    window.startTime,
    `${window.durationHours}h`,
    window.utcOffset,
    ...(window.startDate ? [`from ${window.startDate}`] : []),
    ...window.notAllowedDates.map((span) => `except ${span.start}..${span.end}`),
  ].join(" ");
}

/**
 * Whether the cluster's window already is the wanted one. AKS fills a startDate (the day the window was
 * made) when none is sent: it counts only when the input gives one. Excepted date ranges compare as a set.
 */
export function sameWindow(wanted: MaintenanceWindow, current: MaintenanceWindow): boolean {
  const spans = (w: MaintenanceWindow) =>
    w.notAllowedDates
      .map((s) => `${s.start}..${s.end}`)
      .sort()
      .join(",");
  return (
    JSON.stringify(wanted.schedule) === JSON.stringify(current.schedule) &&
    wanted.durationHours === current.durationHours &&
    wanted.startTime === current.startTime &&
    wanted.utcOffset === current.utcOffset &&
    (wanted.startDate === undefined || wanted.startDate === current.startDate) &&
    spans(wanted) === spans(current)
  );
}

/** The window as @azure/arm-containerservice carries it (dates as Date at UTC midnight). */
export type AzureWindow = import("@azure/arm-containerservice").MaintenanceWindow;

const dateText = (date: Date | undefined): string | undefined =>
  date && !Number.isNaN(date.getTime()) ? date.toISOString().slice(0, 10) : undefined;
const asDate = (text: string): Date => new Date(`${text}T00:00:00Z`);

/**
 * The window AKS returned, in this task's terms; undefined when it is not one this task can write
 * (no schedule, or more than one kind). Day and index names compare in AKS's case.
 */
export function windowFromAzure(window: AzureWindow | undefined): MaintenanceWindow | undefined {
  if (!window?.schedule) return undefined;
  const { daily, weekly, absoluteMonthly, relativeMonthly } = window.schedule;
  const kinds = [daily, weekly, absoluteMonthly, relativeMonthly].filter(Boolean);
  if (kinds.length !== 1) return undefined;
  let schedule: Schedule | undefined;
  if (daily) schedule = { kind: "daily", intervalDays: daily.intervalDays };
  else if (weekly) {
    const day = weekDay(weekly.dayOfWeek);
    if (day) schedule = { kind: "weekly", intervalWeeks: weekly.intervalWeeks, dayOfWeek: day };
  } else if (absoluteMonthly) {
    schedule = { kind: "absoluteMonthly", intervalMonths: absoluteMonthly.intervalMonths, dayOfMonth: absoluteMonthly.dayOfMonth };
  } else if (relativeMonthly) {
    const day = weekDay(relativeMonthly.dayOfWeek);
    const index = weekIndex(relativeMonthly.weekIndex);
    if (day && index)
      schedule = { kind: "relativeMonthly", intervalMonths: relativeMonthly.intervalMonths, weekIndex: index, dayOfWeek: day };
  }
  if (!schedule) return undefined;
  const startDate = dateText(window.startDate);
  return {
    schedule,
    durationHours: window.durationHours,
    startTime: window.startTime,
    utcOffset: window.utcOffset || "+00:00",
    ...(startDate ? { startDate } : {}),
    notAllowedDates: (window.notAllowedDates ?? []).flatMap((span) => {
      const [start, end] = [dateText(span.start), dateText(span.end)];
      return start && end ? [{ start, end }] : [];
    }),
  };
}

/** The window to send. `keepStartDate` is the cluster's own startDate, kept when the input gives none. */
export function windowToAzure(window: MaintenanceWindow, keepStartDate: string | undefined): AzureWindow {
  const { schedule } = window;
  const startDate = window.startDate ?? keepStartDate;
  return {
    schedule:
      schedule.kind === "daily"
        ? { daily: { intervalDays: schedule.intervalDays } }
        : schedule.kind === "weekly"
          ? { weekly: { intervalWeeks: schedule.intervalWeeks, dayOfWeek: schedule.dayOfWeek } }
          : schedule.kind === "absoluteMonthly"
            ? { absoluteMonthly: { intervalMonths: schedule.intervalMonths, dayOfMonth: schedule.dayOfMonth } }
            : {
                relativeMonthly: { intervalMonths: schedule.intervalMonths, weekIndex: schedule.weekIndex, dayOfWeek: schedule.dayOfWeek },
              },
    durationHours: window.durationHours,
    startTime: window.startTime,
    utcOffset: window.utcOffset,
    ...(startDate ? { startDate: asDate(startDate) } : {}),
    ...(window.notAllowedDates.length
      ? { notAllowedDates: window.notAllowedDates.map((span) => ({ start: asDate(span.start), end: asDate(span.end) })) }
      : {}),
  };
}
