"""What the shared tier does for one request: the PostgreSQL statements (pg_stat_statements)
and the Redis commands (INFO commandstats) a scenario caused, divided by its requests.

`bench/run` resets both counters before it measures a scenario on our provider on PostgreSQL +
Redis and reads them after. Each statement is one round trip from the provider (it pipelines
nothing to PostgreSQL), `BEGIN` and `COMMIT` included; each Redis command is one command of a
round trip that may carry several (a pipeline or a script counts its commands). The provider's
background tasks (the purge of expired records, the key lifecycle, the audit spool) run during
the scenario too and are counted with it: a few statements a second.

It also reads the CPU time the tier spent: every `postgres` process on this machine (the
backends serving the provider, and PostgreSQL's own workers) and Redis's `used_cpu_user +
used_cpu_sys`, before and after, per request: what sizing a deployment's database and cache
cores starts from. Both run on this machine beside the provider and the load generator,
unpinned. What the tier spends idle (PostgreSQL's workers, Redis's timer), measured over two
seconds when the counters are set up, is taken off at that rate: at a few sign-ins a second it
would otherwise be most of the figure.

pg_stat_statements must be loaded when PostgreSQL starts (`shared_preload_libraries`).
`install(pg_url)` loads it: `ALTER SYSTEM` and a restart of the local cluster with
`pg_ctlcluster`, which needs to run as the cluster's owner or root. `bench/run
--install-pg-stats` calls it; without it, and without the library loaded, the report says so
and gives the Redis half alone.
"""

import os
import re
import subprocess
import time

STATEMENTS_SHOWN = 4


def psql(url, sql):
    done = subprocess.run(["psql", url, "-qAtc", sql], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip())
    return done.stdout.strip()


def loaded(pg_url):
    """Whether pg_stat_statements collects: preloaded and created in `pg_url`'s database."""
    try:
        if "pg_stat_statements" not in psql(pg_url, "SHOW shared_preload_libraries"):
            return False
        psql(pg_url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        return True
    except RuntimeError:
        return False


def install(pg_url):
    """Preloads pg_stat_statements and restarts the local cluster (Debian's pg_ctlcluster)."""
    libraries = psql(pg_url, "SHOW shared_preload_libraries")
    if "pg_stat_statements" in libraries:
        return
    wanted = ",".join(filter(None, [libraries, "pg_stat_statements"]))
    psql(pg_url, f"ALTER SYSTEM SET shared_preload_libraries = '{wanted}'")
    version = psql(pg_url, "SHOW server_version_num")[:2]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                   check=True)


def postgres_cpu_seconds():
    """utime + stime of every process named `postgres`, in seconds."""
    ticks, total = os.sysconf("SC_CLK_TCK"), 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                head, tail = stat.read().rsplit(")", 1)
        except OSError:
            continue
        if head.split("(", 1)[-1] == "postgres":
            fields = tail.split()
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def redis_cpu_seconds(url):
    info = subprocess.run(["redis-cli", "-u", url, "INFO", "cpu"], capture_output=True,
                          text=True, check=True).stdout
    used = dict(re.findall(r"^(used_cpu_(?:user|sys)):([\d.]+)", info, re.M))
    return float(used.get("used_cpu_user", 0)) + float(used.get("used_cpu_sys", 0))


class SharedTier:
    """The counters of one database (its URL) and one Redis server."""

    def __init__(self, pg_url, redis_url):
        self.pg_url, self.redis_url = pg_url, redis_url
        self.statements = loaded(pg_url)
        self.idle = (0.0, 0.0)

    def calibrate(self, seconds=2.0):
        """The tier's CPU per second while the provider is idle."""
        pg, redis = postgres_cpu_seconds(), redis_cpu_seconds(self.redis_url)
        time.sleep(seconds)
        self.idle = ((postgres_cpu_seconds() - pg) / seconds,
                     (redis_cpu_seconds(self.redis_url) - redis) / seconds)

    def reset(self):
        if self.statements:
            psql(self.pg_url, "SELECT pg_stat_statements_reset()")
        subprocess.run(["redis-cli", "-u", self.redis_url, "CONFIG", "RESETSTAT"],
                       capture_output=True, check=True)
        self.cpu_before = (postgres_cpu_seconds(), redis_cpu_seconds(self.redis_url))

    def read(self, requests, seconds):
        """Per request: statements and the commonest ones, Redis commands and by name, and
        the CPU each side spent beyond its idle rate over `seconds`."""
        per = max(requests, 1)
        pg_cpu, redis_cpu = postgres_cpu_seconds(), redis_cpu_seconds(self.redis_url)
        busy = [max(after - before - idle * seconds, 0.0) for after, before, idle in
                zip((pg_cpu, redis_cpu), self.cpu_before, self.idle)]
        out = {"requests": requests,
               "pg_cpu_us": busy[0] * 1e6 / per,
               "redis_cpu_us": busy[1] * 1e6 / per}
        if self.statements:
            rows = psql(self.pg_url, """
                SELECT calls, regexp_replace(query, '\\s+', ' ', 'g') FROM pg_stat_statements
                WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND query NOT LIKE '%pg_stat_statements%'
                ORDER BY calls DESC""")
            calls = []
            for line in filter(None, rows.split("\n")):
                count, query = line.split("|", 1)
                calls.append((int(count), query))
            out["pg_statements"] = sum(c for c, _ in calls) / per
            out["pg_top"] = [(c / per, q[:90]) for c, q in calls[:STATEMENTS_SHOWN]]
        info = subprocess.run(["redis-cli", "-u", self.redis_url, "INFO", "commandstats"],
                              capture_output=True, text=True, check=True).stdout
        commands = {}
        for name, count in re.findall(r"^cmdstat_([a-z|_]+):calls=(\d+)", info, re.M):
            if name.split("|")[0] not in ("info", "config"):
                commands[name] = int(count) / per
        out["redis_commands"] = sum(commands.values())
        out["redis_by_command"] = dict(sorted(commands.items(), key=lambda kv: -kv[1]))
        return out


def report(costs):
    """The table of what each scenario cost the shared tier, per request."""
    if not costs:
        return
    print("\nShared tier per request (ours on PostgreSQL + Redis; statements are round trips):\n")
    print("| scenario | PostgreSQL statements | PostgreSQL CPU us | commonest | Redis commands "
          "| Redis CPU us | by command |")
    print("|---|---|---|---|---|---|---|")
    for scenario, c in costs.items():
        if "pg_statements" in c:
            statements = f"{c['pg_statements']:.2f}"
            top = "; ".join(f"{n:.2f} `{q}`" for n, q in c["pg_top"] if n >= 0.01) or "-"
        else:
            statements, top = "not counted (--install-pg-stats)", "-"
        by = ", ".join(f"{k} {v:.2f}" for k, v in c["redis_by_command"].items() if v >= 0.01)
        print(f"| {scenario} | {statements} | {c['pg_cpu_us']:.0f} | {top} | "
              f"{c['redis_commands']:.2f} | {c['redis_cpu_us']:.0f} | {by or '-'} |")
