"""What the shared tier does for one request: the PostgreSQL statements (pg_stat_statements)
and the Redis commands (INFO commandstats) a scenario caused, divided by its requests.

`bench/run` resets both counters before it measures a scenario on our provider on PostgreSQL +
Redis and reads them after. Each statement is one round trip from the provider (it pipelines
nothing to PostgreSQL), `BEGIN` and `COMMIT` included; each Redis command is one command of a
round trip that may carry several (a pipeline or a script counts its commands). The provider's
background tasks (the purge of expired records, the key lifecycle, the audit spool) run during
the scenario too and are counted with it: a few statements a second.

pg_stat_statements must be loaded when PostgreSQL starts (`shared_preload_libraries`).
`install(pg_url)` loads it: `ALTER SYSTEM` and a restart of the local cluster with
`pg_ctlcluster`, which needs to run as the cluster's owner or root. `bench/run
--install-pg-stats` calls it; without it, and without the library loaded, the report says so
and gives the Redis half alone.
"""

import re
import subprocess

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


class SharedTier:
    """The counters of one database (its URL) and one Redis server."""

    def __init__(self, pg_url, redis_url):
        self.pg_url, self.redis_url = pg_url, redis_url
        self.statements = loaded(pg_url)

    def reset(self):
        if self.statements:
            psql(self.pg_url, "SELECT pg_stat_statements_reset()")
        subprocess.run(["redis-cli", "-u", self.redis_url, "CONFIG", "RESETSTAT"],
                       capture_output=True, check=True)

    def read(self, requests):
        """Per request: statements and the commonest ones, Redis commands and by name."""
        per = max(requests, 1)
        out = {"requests": requests}
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
    print("| scenario | PostgreSQL statements | commonest | Redis commands | by command |")
    print("|---|---|---|---|---|")
    for scenario, c in costs.items():
        if "pg_statements" in c:
            statements = f"{c['pg_statements']:.2f}"
            top = "; ".join(f"{n:.2f} `{q}`" for n, q in c["pg_top"] if n >= 0.01) or "-"
        else:
            statements, top = "not counted (--install-pg-stats)", "-"
        by = ", ".join(f"{k} {v:.2f}" for k, v in c["redis_by_command"].items() if v >= 0.01)
        print(f"| {scenario} | {statements} | {top} | {c['redis_commands']:.2f} | {by or '-'} |")
