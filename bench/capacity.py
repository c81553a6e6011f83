"""The capacity model: how many cores of each tier serve a rate of sign-ins with their token
traffic, computed from what one `bench/run` measured on PostgreSQL + Redis (issue 26).

Per sign-in, the traffic a tax portal brings with it (`MIX`): the sign-in itself (authorize,
password, PIN, code, token), then refreshes and access-token checks while the person works.
Each operation's cost is what `bench/run` measured per request: the provider's CPU
(`server_cpu_us`, one core per node), PostgreSQL's CPU beyond its idle rate (every `postgres`
process), Redis's (`used_cpu_user + used_cpu_sys`), and the round trips to each. A tier is
planned to run at most `BUSY` of its cores. The provider's nodes are identical and share
nothing but the database and Redis, so they add up; Redis runs commands on one core, so past
one core it must be split (Redis Cluster: sessions, records and counters spread by key); a
PostgreSQL primary grows up to the largest machine, and past it reads go to replicas.
"""

import math

# What one sign-in brings: two refreshes and ten access-token checks (introspection or
# UserInfo by the portal's services) over the session.
MIX = {"sign-in": 1, "refresh": 2, "introspect": 10}
BUSY = 0.7
RATES = (1000, 10000)
# The largest PostgreSQL primary planned for (cores).
LARGEST_PRIMARY = 64


def per_sign_in(results):
    """CPU microseconds and round trips of each tier per sign-in with its `MIX`, or None when
    the run did not measure every operation of the mix on PostgreSQL + Redis."""
    ours, tier = results.get("ours (PostgreSQL + Redis)", {}), results.get("shared_tier", {})
    if not all(op in ours and op in tier for op in MIX):
        return None
    total = {"idp_us": 0.0, "pg_us": 0.0, "redis_us": 0.0, "statements": 0.0, "commands": 0.0}
    for op, n in MIX.items():
        total["idp_us"] += n * ours[op]["server_cpu_us"]
        total["pg_us"] += n * tier[op]["pg_cpu_us"]
        total["redis_us"] += n * tier[op]["redis_cpu_us"]
        total["statements"] += n * tier[op].get("pg_statements", 0.0)
        total["commands"] += n * tier[op]["redis_commands"]
    return total


def cores(us_per_sign_in, rate):
    return us_per_sign_in * rate / 1e6 / BUSY


def sign_ins_per_second(us_per_sign_in, busy_cores):
    """The inverse of `cores` for cores kept fully busy: what `bench/cluster` checks."""
    return busy_cores * 1e6 / us_per_sign_in if us_per_sign_in else math.inf


def report(results):
    cost = per_sign_in(results)
    if cost is None:
        return
    mix = ", ".join(f"{n} {op}" for op, n in MIX.items())
    print(f"\nCapacity model (per sign-in: {mix}; each tier at most {BUSY:.0%} busy): "
          f"{cost['idp_us'] / 1000:.1f} ms of provider CPU, {cost['pg_us'] / 1000:.2f} ms of "
          f"PostgreSQL CPU in {cost['statements']:.1f} statements, {cost['redis_us'] / 1000:.2f}"
          f" ms of Redis CPU in {cost['commands']:.1f} commands\n")
    print("| sign-ins/s | provider cores | PostgreSQL cores | Redis cores (one per shard) "
          "| PostgreSQL statements/s | Redis commands/s |")
    print("|---|---|---|---|---|---|")
    for rate in RATES:
        print(f"| {rate:,} | {math.ceil(cores(cost['idp_us'], rate))} | "
              f"{cores(cost['pg_us'], rate):.1f} | {cores(cost['redis_us'], rate):.1f} | "
              f"{cost['statements'] * rate:,.0f} | {cost['commands'] * rate:,.0f} |")
    limits = {
        "one Redis core": BUSY * 1e6 / cost["redis_us"] if cost["redis_us"] else math.inf,
        f"a {LARGEST_PRIMARY}-core PostgreSQL primary":
            LARGEST_PRIMARY * BUSY * 1e6 / cost["pg_us"] if cost["pg_us"] else math.inf,
    }
    first = min(limits, key=limits.get)
    print("\nThe provider's nodes add up; the shared tier does not: "
          + "; ".join(f"{name} serves {rate:,.0f} sign-ins/s" for name, rate in limits.items())
          + f". The first bottleneck is {first}.")
