/** The prefix of every request the tasks send through their Azure clients (test/contracts checks those requests against the REST specs). */
export const USER_AGENT = "aks-hardening-tasks";
