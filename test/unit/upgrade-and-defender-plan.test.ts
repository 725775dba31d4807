import { describe, it } from "mocha";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  describeWindow,
  parseWindow,
  sameWindow,
  WEEK_DAYS,
  WEEK_INDEXES,
  windowFromAzure,
  windowToAzure,
  type MaintenanceWindow,
  type Schedule,
} from "../../tasks/ConfigureAutoUpgrade/window";
import { planChannels, planWindow, reimagesNodes, withChannels } from "../../tasks/ConfigureAutoUpgrade/plan";
import { defaultWorkspace } from "../../tasks/EnableDefender/default-workspace";
import { planContainersPlan, planSensor, withSensor } from "../../tasks/EnableDefender/plan";

describe("test/unit/upgrade-and-defender-plan", () => {
  describe("maintenance window form", () => {
    it("reads every recurrence, days in any case or abbreviated, the offset, from and except", () => {
      assert.deepEqual(parseWindow("w", "weekly sun 01:00 4h"), {
        schedule: { kind: "weekly", intervalWeeks: 1, dayOfWeek: "Sunday" },
        durationHours: 4,
        startTime: "01:00",
        utcOffset: "+00:00",
        notAllowedDates: [],
      });
      assert.deepEqual(parseWindow("w", "every 3 days 3:05 24h UTC").schedule, { kind: "daily", intervalDays: 3 });
      assert.equal(parseWindow("w", "every 3 days 3:05 24h UTC").startTime, "03:05");
      assert.deepEqual(parseWindow("w", "every 6 months day 31 09:00 4h -08:00").schedule, {
        kind: "absoluteMonthly",
        intervalMonths: 6,
        dayOfMonth: 31,
      });
      const relative = parseWindow("w", "Monthly LAST friday 22:00 6h UTC+05:30 from 2026-05-01 except 2026-12-20..2027-01-03 # freeze");
      assert.deepEqual(relative, {
        schedule: { kind: "relativeMonthly", intervalMonths: 1, weekIndex: "Last", dayOfWeek: "Friday" },
        durationHours: 6,
        startTime: "22:00",
        utcOffset: "+05:30",
        startDate: "2026-05-01",
        notAllowedDates: [{ start: "2026-12-20", end: "2027-01-03" }],
      });
      assert.deepEqual(parseWindow("w", "every week Tue 01:00 4hours").schedule, {
        kind: "weekly",
        intervalWeeks: 1,
        dayOfWeek: "Tuesday",
      });
    });

    it("refuses what AKS refuses, naming the input and the accepted form", () => {
      for (const [text, problem] of [
        ["weekly Sunday 01:00 3h", /4 to 24 hours, not 3/],
        ["every 0 days 01:00 4h", /every 1 to 7 days, not 0/],
        ["every 2 fortnights 01:00 4h", /'every' must be followed by a number and days, weeks or months/],
        ["monthly fifth Monday 01:00 4h", /'day <1-31>' or '<first\|second\|third\|fourth\|last> <day>'/],
        ["weekly Funday 01:00 4h", /day of the week/],
        ["weekly Sunday 01:00 4h 02:00", /two start times/],
        ["weekly Sunday 01:00 4h from 2026-02-30", /'from' must be followed by a date/],
        ["weekly Sunday 01:00 4h -13:00", /not a UTC offset/],
        ["weekly Sunday 4h", /start time \(HH:MM\) is missing/],
        ["", /the window is empty/],
      ] as const) {
        assert.throws(
          () => parseWindow("maintenanceWindow", text),
          (e: Error) => e.message.startsWith("maintenanceWindow: ") && problem.test(e.message) && /Write a window as/.test(e.message),
          text,
        );
      }
    });

    const schedule: fc.Arbitrary<Schedule> = fc.oneof(
      fc.integer({ min: 1, max: 7 }).map((intervalDays) => ({ kind: "daily" as const, intervalDays })),
      fc
        .record({ intervalWeeks: fc.integer({ min: 1, max: 4 }), dayOfWeek: fc.constantFrom(...WEEK_DAYS) })
        .map((r) => ({ kind: "weekly" as const, ...r })),
      fc
        .record({ intervalMonths: fc.integer({ min: 1, max: 6 }), dayOfMonth: fc.integer({ min: 1, max: 31 }) })
        .map((r) => ({ kind: "absoluteMonthly" as const, ...r })),
      fc
        .record({
          intervalMonths: fc.integer({ min: 1, max: 6 }),
          weekIndex: fc.constantFrom(...WEEK_INDEXES),
          dayOfWeek: fc.constantFrom(...WEEK_DAYS),
        })
        .map((r) => ({ kind: "relativeMonthly" as const, ...r })),
    );
    const date = fc
      .date({ min: new Date("2025-01-01T00:00:00Z"), max: new Date("2030-12-31T00:00:00Z"), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10));
    const window: fc.Arbitrary<MaintenanceWindow> = fc
      .record({
        schedule,
        durationHours: fc.integer({ min: 4, max: 24 }),
        startTime: fc
          .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
          .map(([h, m]) => `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`),
        utcOffset: fc.constantFrom("+00:00", "+05:30", "-08:00", "+14:00", "-12:00"),
        startDate: fc.option(date, { nil: undefined }),
        notAllowedDates: fc.array(
          fc.tuple(date, date).map(([a, b]) => (a <= b ? { start: a, end: b } : { start: b, end: a })),
          { maxLength: 2 },
        ),
      })
      .map(({ startDate, ...rest }) => (startDate ? { ...rest, startDate } : rest));

    it("the summary's form reads back as the same window, and the wire form reads back too", () => {
      fc.assert(
        fc.property(window, (w) => {
          assert.deepEqual(parseWindow("w", describeWindow(w)), w);
          assert.deepEqual(windowFromAzure(windowToAzure(w, undefined)), w);
          assert.ok(sameWindow(w, w));
        }),
      );
    });

    it("a startDate AKS filled in is no difference unless the input gives one; a typed window keeps the cluster's startDate", () => {
      const typed = parseWindow("w", "weekly Sunday 01:00 4h");
      const stored = { ...typed, startDate: "2026-03-01" };
      assert.ok(sameWindow(typed, stored));
      assert.ok(!sameWindow(parseWindow("w", "weekly Sunday 01:00 4h from 2026-04-01"), stored));
      assert.ok(
        !sameWindow(parseWindow("w", "weekly Sunday 01:00 4h except 2026-12-20..2026-12-31"), stored),
        "an except range is part of the window",
      );
      const change = planWindow(
        { input: "maintenanceWindow", configName: "aksManagedAutoUpgradeSchedule", window: parseWindow("w", "weekly Monday 01:00 4h") },
        { maintenanceWindow: windowToAzure(stored, undefined), timeInWeek: [{ day: "Monday", hourSlots: [1] }] },
      );
      assert.equal(change.action, "update");
      assert.equal(change.body.maintenanceWindow?.startDate?.toISOString().slice(0, 10), "2026-03-01");
      assert.deepEqual(change.body.timeInWeek, [{ day: "Monday", hourSlots: [1] }], "what the task does not own is sent back");
    });
  });

  describe("channels", () => {
    it("compares without case, keeps the rest of the profile, and knows which node OS moves reimage", () => {
      const cluster = { location: "westeurope", autoUpgradeProfile: { upgradeChannel: "Patch", nodeOSUpgradeChannel: "nodeimage" } };
      assert.equal(planChannels(cluster, "patch", "NodeImage").empty, true);
      const plan = planChannels({ location: "westeurope" }, "stable", "SecurityPatch");
      assert.deepEqual([plan.empty, plan.upgradeChannel.before, plan.nodeOsUpgradeChannel.before], [false, "none", "NodeImage"]);
      assert.deepEqual(withChannels({ location: "westeurope", kubernetesVersion: "1.33" }, plan), {
        location: "westeurope",
        kubernetesVersion: "1.33",
        autoUpgradeProfile: { upgradeChannel: "stable", nodeOSUpgradeChannel: "SecurityPatch" },
      });
      assert.deepEqual(
        [
          reimagesNodes("NodeImage", "Unmanaged"),
          reimagesNodes("Unmanaged", "None"),
          reimagesNodes("NodeImage", "SecurityPatch"),
          reimagesNodes("None", "NodeImage"),
        ],
        [true, true, false, false],
      );
    });
  });

  describe("Defender", () => {
    const SUB = "00000000-0000-0000-0000-000000000001";

    it("the default workspace follows azure-cli's region maps, per cloud", () => {
      const id = (env: string | undefined, region: string) => defaultWorkspace(env, SUB, region)?.id;
      assert.equal(
        id("AzureCloud", "West Europe"),
        `/subscriptions/${SUB}/resourceGroups/DefaultResourceGroup-WEU/providers/Microsoft.OperationalInsights/workspaces/DefaultWorkspace-${SUB}-WEU`,
      );
      assert.equal(defaultWorkspace(undefined, SUB, "germanynorth")?.name, `DefaultWorkspace-${SUB}-DEWC`);
      assert.equal(defaultWorkspace("AzureCloud", SUB, "germanynorth")?.region, "germanywestcentral");
      assert.equal(
        defaultWorkspace("AzureCloud", SUB, "mexicocentral")?.resourceGroupName,
        "DefaultResourceGroup-EUS",
        "an unlisted region falls back to eastus",
      );
      assert.equal(defaultWorkspace("AzureChinaCloud", SUB, "chinanorth2")?.resourceGroupName, "DefaultResourceGroup-EAST2");
      assert.equal(defaultWorkspace("AzureUSGovernment", SUB, "usgovtexas")?.resourceGroupName, "DefaultResourceGroup-USGV");
      assert.equal(defaultWorkspace("AzureStack", SUB, "local"), undefined);
    });

    it("the sensor plan keeps the rest of the security profile; the plan is turned on only when asked, keeping its extensions", () => {
      const ws = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law";
      const cluster = {
        location: "westeurope",
        securityProfile: {
          workloadIdentity: { enabled: true },
          defender: { logAnalyticsWorkspaceResourceId: ws.toUpperCase(), securityMonitoring: { enabled: true } },
        },
      };
      assert.equal(planSensor(cluster, ws).empty, true, "workspace IDs compare without case");
      const off = { location: "westeurope", securityProfile: { workloadIdentity: { enabled: true } } };
      assert.deepEqual(withSensor(off, planSensor(off, ws)).securityProfile, {
        workloadIdentity: { enabled: true },
        defender: { logAnalyticsWorkspaceResourceId: ws, securityMonitoring: { enabled: true } },
      });
      const extensions = [{ name: "ContainerSensor", isEnabled: "False" }];
      const free = { ok: true as const, pricing: { pricingTier: "Free", extensions } };
      assert.deepEqual(planContainersPlan(free, false), { before: "Free", after: "Free", write: false });
      assert.deepEqual(planContainersPlan(free, true).pricing, { pricingTier: "Standard", extensions });
      assert.equal(planContainersPlan({ ok: true, pricing: { pricingTier: "Standard" } }, true).write, false);
      assert.deepEqual(planContainersPlan({ ok: false, reason: "refused" }, false), { before: "unknown", after: "unknown", write: false });
    });
  });
});
