// `npm test`'s reporter: mocha's spec reporter, then one plain closing line ("N passed, N failed,
// N skipped") that CI and people read the same way whatever the runner.
import Mocha from "mocha";

const { EVENT_RUN_END } = Mocha.Runner.constants;

export default class TestReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending } = this.stats;
      process.stdout.write(`\ntests: ${passes} passed, ${failures} failed, ${pending} skipped\n`);
    });
  }
}
