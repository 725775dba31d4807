import { ArmError } from "../http";
import type { ArmResource } from "./arm-resource";
import { isPlainObject } from "./merge";

export const MAINTENANCE_CONFIGURATION_TYPE = "Microsoft.ContainerService/managedClusters/maintenanceConfigurations";

/**
 * Planned-maintenance configurations of a managed cluster (MaintenanceConfigurations_*,
 * api-version 2026-04-01, managedClusters.json). The rules below are the spec's:
 * - MaintenanceWindow: `schedule`, `durationHours` and `startTime` required; durationHours 4-24;
 *   utcOffset pattern `^(-|\+)[0-9]{2}:[0-9]{2}$`; startTime pattern `^\d{2}:\d{2}$`, "from '00:00'
 *   to '23:59'"; startDate and notAllowedDates[].start/end are `format: date`.
 * - Schedule: "One and only one of the schedule types should be specified"; DailySchedule.intervalDays
 *   1-7; WeeklySchedule.intervalWeeks 1-4 with dayOfWeek a WeekDay; AbsoluteMonthlySchedule
 *   intervalMonths 1-6, dayOfMonth 1-31; RelativeMonthlySchedule intervalMonths 1-6, weekIndex
 *   First|Second|Third|Fourth|Last, dayOfWeek a WeekDay.
 * - AKS docs "Use planned maintenance" (planned-maintenance.md): `default` takes only the weekly
 *   schedule; `aksManagedAutoUpgradeSchedule` and `aksManagedNodeOSUpgradeSchedule` take all four;
 *   startDate defaults to "the current date at creation time", utcOffset to +00:00.
 * AKS's own wording of these 400s is not published: the code InvalidParameter and the messages are assumed.
 */
const WEEK_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const WEEK_INDEXES = ["First", "Second", "Third", "Fourth", "Last"];
const SCHEDULE_KINDS = ["daily", "weekly", "absoluteMonthly", "relativeMonthly"] as const;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function invalid(field: string, problem: string): ArmError {
  return new ArmError(400, "InvalidParameter", `The value of parameter 'maintenanceWindow.${field}' is invalid: ${problem}.`);
}

function checkInteger(value: unknown, field: string, min: number, max: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `it must be an integer from ${min} to ${max}`);
  }
}

function isDate(value: unknown): value is string {
  if (typeof value !== "string" || !DATE.test(value)) return false;
  const parsed = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(value);
}

export function validateMaintenanceConfiguration(name: string, properties: Record<string, unknown>): void {
  const window = properties["maintenanceWindow"];
  if (window === undefined || window === null) {
    if (name !== "default") throw new ArmError(400, "InvalidParameter", `Maintenance configuration '${name}' requires maintenanceWindow.`);
    return;
  }
  if (!isPlainObject(window)) throw invalid("", "it must be an object");
  const schedule = window["schedule"];
  if (!isPlainObject(schedule)) throw invalid("schedule", "it is required");
  const kinds = SCHEDULE_KINDS.filter((kind) => schedule[kind] !== undefined && schedule[kind] !== null);
  if (kinds.length !== 1)
    throw invalid("schedule", "one and only one of daily, weekly, absoluteMonthly or relativeMonthly must be specified");
  const kind = kinds[0]!;
  if (name === "default" && kind !== "weekly") throw invalid("schedule", "the 'default' configuration supports only a weekly schedule");
  const detail = schedule[kind];
  if (!isPlainObject(detail)) throw invalid(`schedule.${kind}`, "it must be an object");
  if (kind === "daily") checkInteger(detail["intervalDays"], "schedule.daily.intervalDays", 1, 7);
  if (kind === "weekly") {
    checkInteger(detail["intervalWeeks"], "schedule.weekly.intervalWeeks", 1, 4);
    if (!WEEK_DAYS.includes(String(detail["dayOfWeek"])))
      throw invalid("schedule.weekly.dayOfWeek", `it must be one of ${WEEK_DAYS.join(", ")}`);
  }
  if (kind === "absoluteMonthly") {
    checkInteger(detail["intervalMonths"], "schedule.absoluteMonthly.intervalMonths", 1, 6);
    checkInteger(detail["dayOfMonth"], "schedule.absoluteMonthly.dayOfMonth", 1, 31);
  }
  if (kind === "relativeMonthly") {
    checkInteger(detail["intervalMonths"], "schedule.relativeMonthly.intervalMonths", 1, 6);
    if (!WEEK_INDEXES.includes(String(detail["weekIndex"])))
      throw invalid("schedule.relativeMonthly.weekIndex", `it must be one of ${WEEK_INDEXES.join(", ")}`);
    if (!WEEK_DAYS.includes(String(detail["dayOfWeek"])))
      throw invalid("schedule.relativeMonthly.dayOfWeek", `it must be one of ${WEEK_DAYS.join(", ")}`);
  }
  checkInteger(window["durationHours"], "durationHours", 4, 24);
  const startTime = window["startTime"];
  const time = typeof startTime === "string" ? /^(\d{2}):(\d{2})$/.exec(startTime) : null;
  if (!time || Number(time[1]) > 23 || Number(time[2]) > 59) throw invalid("startTime", "it must be a time from '00:00' to '23:59'");
  const offset = window["utcOffset"];
  if (offset !== undefined && offset !== null && (typeof offset !== "string" || !/^(-|\+)[0-9]{2}:[0-9]{2}$/.test(offset))) {
    throw invalid("utcOffset", "it must be in the format +/-HH:mm, e.g. '+05:30'");
  }
  const startDate = window["startDate"];
  if (startDate !== undefined && startDate !== null && !isDate(startDate)) throw invalid("startDate", "it must be a date (YYYY-MM-DD)");
  const spans = window["notAllowedDates"];
  if (spans !== undefined && spans !== null) {
    if (!Array.isArray(spans)) throw invalid("notAllowedDates", "it must be an array of date spans");
    spans.forEach((span: unknown, i) => {
      if (!isPlainObject(span) || !isDate(span["start"]) || !isDate(span["end"]))
        throw invalid(`notAllowedDates[${i}]`, "start and end must be dates (YYYY-MM-DD)");
      if (span["start"] > span["end"]) throw invalid(`notAllowedDates[${i}]`, "start must not be after end");
    });
  }
}

/**
 * The configuration as AKS stores and answers it (shape of the spec examples
 * MaintenanceConfigurationsCreate_Update_MaintenanceWindow): a window without a startDate gets
 * today's date, one without utcOffset gets +00:00 (planned-maintenance.md, the defaults table).
 */
export function composeMaintenanceConfiguration(p: {
  clusterId: string;
  name: string;
  properties: Record<string, unknown>;
  today: Date;
}): ArmResource {
  const properties = structuredClone(p.properties);
  const window = properties["maintenanceWindow"];
  if (isPlainObject(window)) {
    if (window["startDate"] === undefined || window["startDate"] === null) window["startDate"] = p.today.toISOString().slice(0, 10);
    if (window["utcOffset"] === undefined || window["utcOffset"] === null) window["utcOffset"] = "+00:00";
  }
  return {
    id: `${p.clusterId}/maintenanceConfigurations/${p.name}`,
    name: p.name,
    type: MAINTENANCE_CONFIGURATION_TYPE,
    properties,
  };
}
