# tests/gdb/check_goroutines.py: runs inside gdb (run_gdb_test.sh), with tools/goro-gdb.py
# loaded and parked_prog as the program. It checks, at parked_prog's ready breakpoint:
#  - `info goroutines` lists as many goroutines as goro::num_goroutine() said (the program's
#    `ready` struct, read through the debug information), each id once, with the id, state and
#    wait reason the runtime itself reported for each one (chan receive, select,
#    sync.Mutex.Lock, sleep, and main running on the selected thread, marked '*'), and the
#    source line each parked goroutine blocked at;
#  - `goroutine N bt` shows, for each parked goroutine, the function it parked in
#    (park_in_recv, ...) and ends at the goroutine's entry (goro_ctx_start) with no unwinding
#    error, and for the running main goroutine, the breakpoint's function;
#  - every `goroutine N bt` leaves the registers and the selected frame as they were;
#  - `goroutine N` with an unknown id is an error;
# then lets the program run on: it releases three of the parked goroutines, checks what they
# returned, and must exit with status 0 (a debugger that corrupted a parked context would make
# it crash or compute something else).
# Ends gdb with status 0 (passed), 1 (failed) or 77 (skipped: ptrace not permitted).
import os
import re

import gdb

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL: " + what)


def registers():
    """The selected thread's frame-0 registers and the selected frame's level, as text."""
    selected = gdb.selected_frame()
    level = 0
    f = selected
    while f.newer() is not None:
        f = f.newer()
        level += 1
    return "level %d\n%s" % (level, gdb.execute("info registers", to_string=True))


def main():
    gdb.execute("set confirm off")
    # LeakSanitizer cannot run under ptrace; this test is not registered under sanitizers, but
    # a hand-run sanitized build should still get this far.
    gdb.execute("set environment ASAN_OPTIONS %s:detect_leaks=0" % os.environ.get("ASAN_OPTIONS", ""))
    gdb.execute("break goro_gdb_test_ready")
    try:
        gdb.execute("run")
    except gdb.error as e:
        if "ptrace" in str(e) or "not permitted" in str(e):
            print("cannot run the program under gdb (%s): skipped" % e)
            gdb.execute("quit 77")
        raise
    frame = gdb.selected_frame()
    if frame is None or frame.name() != "goro_gdb_test_ready":
        print("FAIL: did not stop at goro_gdb_test_ready")
        gdb.execute("quit 1")
    gdb.execute("up")  # a frame other than 0 selected: the commands must keep it so

    ready = gdb.parse_and_eval("ready")
    expect = {
        int(ready["recv"]): ("waiting", "chan receive", "park_in_recv"),
        int(ready["select"]): ("waiting", "select", "park_in_select"),
        int(ready["mutex"]): ("waiting", "sync.Mutex.Lock", "park_in_mutex"),
        int(ready["sleep"]): ("waiting", "sleep", "park_in_sleep"),
        int(ready["main"]): ("running", "", "goro_gdb_test_ready"),
    }
    total = int(ready["goroutines"])

    listing = gdb.execute("info goroutines", to_string=True)
    print(listing)
    lines = listing.splitlines()
    check(re.match(r"^\s+Id\s+State\s+Wait reason\s+Where$", lines[0]) is not None,
          "header line: " + lines[0])
    rows = {}
    for line in lines[1:]:
        m = re.match(r"^([* ]) (\d+)\s+(running|runnable|waiting|syscall)\s+(.*?)\s*"
                     r"((?:thread \d+, )?(?:blocked at \S+, )?created by .*)$", line)
        check(m is not None, "unparsed line: " + line)
        if m:
            gid = int(m.group(2))
            check(gid not in rows, "goroutine %d listed twice" % gid)
            rows[gid] = (m.group(1), m.group(3), m.group(4), m.group(5))
    check(len(rows) == total, "%d goroutines listed, num_goroutine() said %d" % (len(rows), total))
    for gid, (state, reason, function) in expect.items():
        row = rows.get(gid)
        check(row is not None, "goroutine %d (%s) not listed" % (gid, function))
        if row is None:
            continue
        mark, got_state, got_reason, where = row
        check((got_state, got_reason) == (state, reason),
              "goroutine %d: %s/%s, expected %s/%s" % (gid, got_state, got_reason, state, reason))
        if state == "waiting":
            check(re.search(r"blocked at tests/gdb/parked_prog\.cpp:\d+, created by goroutine %d "
                            r"at tests/gdb/parked_prog\.cpp:\d+$" % int(ready["main"]), where)
                  is not None, "goroutine %d: where: %s" % (gid, where))
            check(mark == " ", "goroutine %d is marked as on the selected thread" % gid)
        else:
            check(mark == "*", "main is not marked as on the selected thread")
            check(where.startswith("thread "), "main's thread is not shown: " + where)

    for gid, (state, reason, function) in sorted(expect.items()):
        before = registers()
        bt = gdb.execute("goroutine %d bt" % gid, to_string=True)
        after = registers()
        print("goroutine %d bt:\n%s" % (gid, bt))
        check(re.search(r"\b%s\b" % function, bt) is not None,
              "goroutine %d's backtrace lacks %s" % (gid, function))
        if state == "waiting":
            last = bt.strip().splitlines()[-1]
            check("goro_ctx_start" in last,
                  "goroutine %d's backtrace does not end at goro_ctx_start: %s" % (gid, last))
        check("Backtrace stopped" not in bt and "corrupt" not in bt,
              "goroutine %d's backtrace ended in an unwinding error" % gid)
        check(before == after, "goroutine %d bt changed the registers or the selected frame" % gid)

    try:
        gdb.execute("goroutine 999999 bt", to_string=True)
        check(False, "goroutine 999999 bt did not fail")
    except gdb.error as e:
        check("no goroutine 999999" in str(e), "goroutine 999999 bt: " + str(e))

    gdb.execute("delete")
    gdb.execute("continue")
    status = gdb.parse_and_eval("$_exitcode")
    check(status.type.code != gdb.TYPE_CODE_VOID and int(status) == 0,
          "the program did not exit with status 0 after the debugger let it go: %s" % status)


try:
    main()
except Exception as e:  # noqa: BLE001 -- any error is a failure, reported as such
    failures.append("error: %s" % e)
    print("FAIL: error: %s" % e)
print("%d failure(s)" % len(failures) if failures else "PASS")
gdb.execute("quit %d" % (1 if failures else 0))
