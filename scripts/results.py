#!/usr/bin/env python3
"""Turns one guest run into a test report (used by scripts/check.sh).

Reads OUTDIR/results.txt (the guest's ttyS1: `ok NAME`, `not ok NAME REASON`, `# ...` markers)
and OUTDIR/guest.log (the console). Reports, one line per test:
  - every result line of the guest test scripts;
  - every KUnit case found in the KTAP of the kernel log, as kunit/<suite>/<case>;
  - guest-finished: the guest printed its end marker (no timeout, no crash);
  - kernel-log-clean: no WARNING, BUG, Oops, KASAN, UBSAN, kmemleak, lockdep, hung task, RCU
    stall or panic report in the kernel log (the offending lines are printed).
Then where the guest's time went (`# time KIND NAME SECONDS` markers: boot, each script, each
KUnit module, the kmemleak scan, the slowest cases), also written to OUTDIR/times.txt.
The last line is `N passed, N failed`; the exit status is 1 when anything failed.
"""

import argparse
import re
import sys
from pathlib import Path

END_MARKER = "# ldd3 guest done"
TIMESTAMP = re.compile(r"\[\s*\d+\.\d+\] ?")
RESULT = re.compile(r"^(not ok|ok) (\S+)(?: (.*))?$")
KTAP_RESULT = re.compile(r"^(not ok|ok) \d+ (.*?)(?: # (SKIP|TODO)\b ?(.*))?$")
KTAP_SUBTEST = re.compile(r"^# Subtest: (\S+)")

# Kernel log lines that fail `kernel-log-clean` (matched on kernel lines, the ones with a
# printk timestamp, except `unreferenced object`, which comes from reading the kmemleak file).
BAD_KERNEL = re.compile(
    r"WARNING:|BUG:|kernel BUG at|\bOops\b|KASAN|UBSAN|possible circular locking"
    r"|lockdep|INFO: task .* blocked|general protection fault|Kernel panic"
    r"|RCU stall|self-detected stall|detected stalls|suspected memory leak"
    r"|Unable to handle kernel"
)
BAD_ANY = re.compile(r"unreferenced object 0x")
# Harmless lines that the patterns above would otherwise catch.
ALLOWED = re.compile(r"^ldd3-test: |Lock dependency validator|MAX_LOCKDEP|RCU lockdep checking is enabled")


def strip_ts(line):
    """Returns (is_kernel_line, text) for one console line."""
    m = TIMESTAMP.search(line)
    if m:
        return True, line[m.end():]
    return False, line


class Report:
    def __init__(self):
        self.order = []
        self.tests = {}  # name -> (status, reason); status: ok, FAIL, skip

    def add(self, name, status, reason=""):
        if name not in self.tests:
            self.order.append(name)
            self.tests[name] = (status, reason)
            return
        old = self.tests[name]
        if old[0] != "FAIL" and status == "FAIL":
            self.tests[name] = (status, reason)


def parse_results(path, report):
    markers = []
    if not path.exists():
        return markers
    for raw in path.read_bytes().decode("utf-8", "replace").splitlines():
        line = raw.replace("\r", "").replace("\0", "").rstrip()
        if line.startswith("#"):
            markers.append(line)
            continue
        m = RESULT.match(line)
        if not m:
            continue
        ok, name, rest = m.group(1) == "ok", m.group(2), (m.group(3) or "")
        if ok and rest.startswith("# SKIP"):
            report.add(name, "skip", rest[len("# SKIP"):].strip())
        elif ok:
            report.add(name, "ok")
        else:
            report.add(name, "FAIL", rest.strip() or "failed")
    return markers


def parse_ktap(lines, report):
    """KUnit cases from the kernel log. A suite is a top-level `# Subtest:`; its cases are the
    result lines one level in; deeper (parameterised) results only count through their parent."""
    suite = None  # dict(name, indent, cases, failed, diag, depth_stack)
    nested = []  # indents of subtests opened inside the current suite

    def close_incomplete(why):
        report.add(f"kunit/{suite['name']}", "FAIL", why)

    for is_kernel, text in lines:
        if not is_kernel:
            continue
        body = text.rstrip()
        stripped = body.strip()
        if not stripped:
            continue
        ind = len(body) - len(body.lstrip())
        sub = KTAP_SUBTEST.match(stripped)
        if sub:
            if suite is None or ind <= suite["indent"]:
                if suite is not None:
                    close_incomplete("suite did not finish (crash or module load failure?)")
                suite = {"name": sub.group(1), "indent": ind, "cases": 0, "failed": 0, "diag": []}
                nested = []
            else:
                nested.append(ind)
            continue
        if suite is None:
            continue
        res = KTAP_RESULT.match(stripped)
        if res:
            ok, name, directive, why = res.group(1) == "ok", res.group(2), res.group(3), res.group(4)
            if nested and ind >= nested[-1]:
                if not ok:  # a parameter of a parameterised case
                    suite["diag"].append(f"parameter '{name}' failed")
                continue
            if nested and ind == nested[-1] - 4:
                nested.pop()  # closes a parameterised case: it is a case result
            if ind == suite["indent"]:
                full = f"kunit/{suite['name']}/{name}"
                if directive == "SKIP":
                    report.add(full, "skip", (why or "").strip())
                elif ok:
                    report.add(full, "ok")
                else:
                    diag = "; ".join(suite["diag"][:3]) or "failed"
                    report.add(full, "FAIL", diag[:300])
                    suite["failed"] += 1
                suite["cases"] += 1
                suite["diag"] = []
            elif ind < suite["indent"]:
                if not ok and suite["failed"] == 0:
                    report.add(f"kunit/{suite['name']}", "FAIL",
                               "suite failed: " + ("; ".join(suite["diag"][:3]) or "no case failed"))
                elif suite["cases"] == 0:
                    report.add(f"kunit/{suite['name']}", "ok" if ok else "FAIL", "suite has no cases")
                suite = None
                nested = []
            continue
        if ind >= suite["indent"] and not re.match(r"(KTAP version|1\.\.\d+|# (speed|module|Totals|\S+: pass:))", stripped):
            d = stripped.lstrip("# ").strip()
            if d:
                suite["diag"].append(d)
    if suite is not None:
        close_incomplete("suite did not finish (the guest crashed or timed out?)")


def time_summary(markers, outdir):
    """Where the guest's time went, from the `# time KIND NAME SECONDS` markers: one line for
    the report, and every figure in OUTDIR/times.txt (slowest first)."""
    times = []
    for m in markers:
        parts = m.split()
        if len(parts) == 5 and parts[1] == "time":
            try:
                times.append((parts[2], parts[3], float(parts[4])))
            except ValueError:
                pass
    if not times:
        return None
    with open(outdir / "times.txt", "w") as f:
        for kind, name, secs in sorted(times, key=lambda t: -t[2]):
            f.write(f"{secs:8.1f}  {kind:8} {name}\n")

    def total(kind):
        return sum(secs for k, _, secs in times if k == kind)

    parts = [f"boot {total('boot'):.0f} s"]
    scripts = [(n, secs) for k, n, secs in times if k == "script"]
    if scripts:
        each = ", ".join(f"{n} {secs:.0f}" for n, secs in scripts)
        parts.append(f"scripts {total('script'):.0f} s ({each})")
    if total("kunit"):
        parts.append(f"KUnit {total('kunit'):.0f} s")
    if total("kmemleak"):
        parts.append(f"kmemleak scan {total('kmemleak'):.0f} s")
    slow = sorted(((n, secs) for k, n, secs in times if k == "case"), key=lambda t: -t[1])[:5]
    if slow:
        parts.append("slowest cases: " + ", ".join(f"{n} {secs:.0f} s" for n, secs in slow))
    return "guest time: " + "; ".join(parts)


def check_kernel_log(lines, report, max_lines=40):
    bad = []
    context = "boot"
    for is_kernel, text in lines:
        t = text.strip()
        if t.startswith(("ldd3: kmemleak: scanning", "ldd3: kmemleak report begin")):
            context = "the final kmemleak scan"
        if t.startswith("ldd3-test: "):
            m = re.match(r"ldd3-test: (?:begin|script|kunit) (\S+)", t)
            if m:
                context = m.group(1)
            continue
        hit = (is_kernel and BAD_KERNEL.search(t)) or BAD_ANY.search(t)
        if hit and not ALLOWED.search(t):
            bad.append(f"[during {context}] {t}")
    if bad:
        report.add("kernel-log-clean", "FAIL", f"{len(bad)} report line(s) in the kernel log")
    else:
        report.add("kernel-log-clean", "ok")
    return bad[:max_lines], len(bad)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--qemu-status", type=int, default=0)
    ap.add_argument("--timeout", type=int, default=0)
    args = ap.parse_args()

    log_path = args.outdir / "guest.log"
    res_path = args.outdir / "results.txt"
    raw = log_path.read_bytes().decode("utf-8", "replace") if log_path.exists() else ""
    lines = [strip_ts(line.replace("\r", "")) for line in raw.splitlines()]

    report = Report()
    markers = parse_results(res_path, report)
    parse_ktap(lines, report)

    if END_MARKER in markers:
        report.add("guest-finished", "ok")
    else:
        if args.qemu_status == 124:
            why = f"no end marker: killed after the {args.timeout} s limit"
        elif not any(m.startswith("# ldd3 guest start") for m in markers):
            why = f"no start marker: the guest never reached /init (QEMU status {args.qemu_status})"
        else:
            why = f"no end marker: the guest crashed or stopped (QEMU status {args.qemu_status})"
        report.add("guest-finished", "FAIL", why)
    bad, nbad = check_kernel_log(lines, report)

    passed = failed = skipped = 0
    for name in report.order:
        status, reason = report.tests[name]
        if status == "ok":
            passed += 1
            print(f"ok   {name}")
        elif status == "skip":
            skipped += 1
            print(f"skip {name}: {reason}")
        else:
            failed += 1
            print(f"FAIL {name}: {reason}")
    if report.tests["guest-finished"][0] == "FAIL":
        tail = [t for _, t in lines if t.strip()][-15:]
        if tail:
            print("---- last lines of the console (" + str(log_path) + "):")
            for t in tail:
                print("  " + t)
    if bad:
        print(f"---- kernel log reports ({nbad} lines, full log: {log_path}):")
        for b in bad:
            print("  " + b)
        if nbad > len(bad):
            print(f"  ... and {nbad - len(bad)} more")
    # Figures a guest script reports (`# report LINE`: make soak's times and slab counts) and
    # the allocation failures of faults.sh (`# faults PATH N`).
    for m in markers:
        if m.startswith("# report "):
            print(m[len("# report "):])
    faults = [m.split()[2:4] for m in markers if m.startswith("# faults ") and len(m.split()) == 4]
    if faults:
        print("allocations failed on purpose: " + ", ".join(f"{p} {n}" for p, n in faults)
              + f" (total {sum(int(n) for _, n in faults if n.isdigit())})")
    summary = time_summary(markers, args.outdir)
    if summary:
        print(summary)
    if skipped:
        print(f"({skipped} skipped)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
