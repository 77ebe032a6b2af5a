# tools/goro-gdb.py: goro's goroutines in gdb, for a live process or a core file.
#
#   (gdb) source tools/goro-gdb.py
#   (gdb) info goroutines          one line per goroutine: id, state, wait reason, where
#   (gdb) goroutine 7 bt           the backtrace of goroutine 7
#   (gdb) goroutine 7 bt full      any gdb command, run in goroutine 7's context
#   (gdb) goroutine all bt         ... in every goroutine's, one after the other
#
# What it reads: the runtime's registry of goroutine records (src/goroutine/registry.cpp),
# found through the global goro_gdb_registry, with every type (registry, goroutine, stack)
# taken from the program's debug information: the program must be built with full debug
# information (-g; the release and clang presets are, the sanitizer presets' -g1 is not).
# Nothing here knows a field's offset; it knows the fields' names, and the layout of the
# frame the context switch saves (src/fiber/switch_*.S), which has no type.
#
# Invariants:
#  - Read-only for the program's memory. `goroutine N CMD` changes registers of the selected
#    thread (never memory), only with frame 0 selected (a register written in an outer frame
#    would be written into the stack slot where that frame saved it), and puts every one back,
#    and the selected frame, whatever CMD does (try/finally).
#  - Racy like the runtime's own dumps: in a live process that is stopped, records are read as
#    they are; a record being changed when the process stopped may show a stale field.
#
# A goroutine's context: while it is not running, goroutine::sp points at the frame
# goro_ctx_switch pushed (x86-64: r15 r14 r13 r12 rbx rbp, then the address to resume at;
# AArch64: x19..x28, x29, x30, d8..d15 in 160 bytes, resuming at x30). Switching gdb's
# registers to that frame makes gdb's own unwinder walk the goroutine's stack; the unwind
# information of goro_ctx_start (.cfi_undefined) ends the walk at the goroutine's entry. A
# goroutine that is running (or inside goro::blocking()) is on some thread: the one whose stack
# pointer lies in the goroutine's stack, and CMD runs on that thread instead.
#
# Written for goro; ideas (not code) from Go's src/runtime/runtime-gdb.py.

import struct

import gdb

# The words of src/diag/diag.cpp's reason_text(), which the runtime's dumps print; keep the
# two in step. Keyed by wait_reason's enumerator names.
_REASON_TEXT = {
    "chan_send": "chan send",
    "chan_recv": "chan receive",
    "select": "select",
    "select_no_cases": "select (no cases)",
    "chan_send_nil": "chan send (nil chan)",
    "chan_recv_nil": "chan receive (nil chan)",
    "semacquire": "semacquire",
    "mutex_lock": "sync.Mutex.Lock",
    "sleep": "sleep",
    "rwmutex_lock": "sync.RWMutex.Lock",
    "rwmutex_rlock": "sync.RWMutex.RLock",
    "cond_wait": "sync.Cond.Wait",
    "io_wait": "IO wait",
}


# ---- Reading the records ---------------------------------------------------------------------


def _atomic(v):
    """The value a std::atomic<T> holds, read through its bytes (std::atomic<T> has T's size and
    representation), so that neither libstdc++'s nor libc++'s member names matter."""
    t = v.type.strip_typedefs()
    try:
        inner = t.template_argument(0)
    except (RuntimeError, gdb.error):
        # No template arguments in the debug information: the innermost first member.
        while t.code == gdb.TYPE_CODE_STRUCT and t.fields():
            v = v[t.fields()[0]]
            t = v.type.strip_typedefs()
        return v
    return v.address.cast(inner.pointer()).dereference()


_enum_names = {}


def _enum_name(v):
    """The unqualified enumerator name of enum value v ("waiting"), or its number."""
    t = v.type.strip_typedefs()
    key = str(t)
    if key not in _enum_names:
        _enum_names[key] = {f.enumval: f.name.split("::")[-1] for f in t.fields()}
    n = int(v)
    return _enum_names[key].get(n, str(n))


def _string(p):
    """The C string p points to, or None."""
    if int(p) == 0:
        return None
    try:
        return p.string()
    except (gdb.error, gdb.MemoryError, UnicodeDecodeError):
        return "<unreadable>"


class Goroutine:
    """What `info goroutines` shows of one live goroutine record, and where its context is."""

    def __init__(self, g):
        self.record = g
        self.id = int(_atomic(g["id"]))
        self.state = _enum_name(_atomic(g["state"]))
        reason = _enum_name(_atomic(g["reason"]))
        self.reason = _REASON_TEXT.get(reason, "waiting") if self.state == "waiting" else ""
        self.parent = int(_atomic(g["parent_id"]))
        self.created = (_string(_atomic(g["created_file"])), int(_atomic(g["created_line"])))
        self.blocked = (_string(_atomic(g["blocked_file"])), int(_atomic(g["blocked_line"])))
        stk = g["stk"]
        self.stack_lo = int(stk["lo"])
        self.stack_hi = self.stack_lo + int(stk["size"])
        self.sp = int(g["sp"])
        self.thread = None  # the gdb thread it runs on, if it is running

    def on_stack(self, sp):
        return self.stack_lo != 0 and self.stack_lo <= sp < self.stack_hi

    def where(self):
        parts = []
        if self.thread is not None:
            parts.append("thread %d" % self.thread.num)
        file, line = self.blocked
        if self.state in ("waiting", "syscall") and file:
            parts.append("blocked at %s:%d" % (file, line))
        if self.id == 1:
            creator = "created by goro::run"
        elif self.parent == 0:
            creator = "created by a thread"
        else:
            creator = "created by goroutine %d" % self.parent
        file, line = self.created
        if file:
            creator += " at %s:%d" % (file, line)
        parts.append(creator)
        return ", ".join(parts)


def _registry():
    try:
        r = gdb.parse_and_eval("goro_gdb_registry")
    except gdb.error:
        raise gdb.GdbError(
            "goro: no goro_gdb_registry here: not a goro program, or no debug information")
    if r.type.strip_typedefs().code != gdb.TYPE_CODE_PTR:
        raise gdb.GdbError("goro: goro_gdb_registry has no type: build with -g (not -g1)")
    return None if int(r) == 0 else r.dereference()


def _thread_stack_pointers():
    """[(thread, sp)] for every thread of the selected inferior; selects nothing in the end."""
    out = []
    inferior = gdb.selected_inferior()
    if inferior.pid == 0 and not inferior.threads():
        return out
    thread, frame = gdb.selected_thread(), gdb.selected_frame()
    try:
        for t in inferior.threads():
            t.switch()
            out.append((t, int(gdb.newest_frame().read_register("sp"))))
    finally:
        thread.switch()
        frame.select()
    return out


def goroutines():
    """Every live goroutine, by id, each running one with the thread it runs on."""
    r = _registry()
    if r is None:
        return []
    bits = int(r["seg_bits"])
    mask = (1 << bits) - 1
    count = int(_atomic(r["allg_count"]))
    found = []
    for i in range(count):
        seg = _atomic(r["allg_segs"][i >> bits])
        if int(seg) == 0:
            continue  # a core cut between two stores of new_record()
        p = seg[i & mask]
        if int(p) == 0:
            continue
        g = Goroutine(p.dereference())
        if g.id == 0 or g.state == "dead":
            continue
        found.append(g)
    found.sort(key=lambda g: g.id)
    stacks = _thread_stack_pointers()
    for g in found:
        if g.state in ("running", "syscall"):
            for t, sp in stacks:
                if g.on_stack(sp):
                    g.thread = t
    return found


def _find(gid):
    for g in goroutines():
        if g.id == gid:
            return g
    raise gdb.GdbError("goro: no goroutine %d" % gid)


# ---- Switching to a goroutine's context ------------------------------------------------------


def _saved_registers(g):
    """[(register, value)] to give gdb for parked goroutine g, the stack pointer last."""
    arch = gdb.selected_inferior().architecture().name()
    memory = gdb.selected_inferior()
    if "x86-64" in arch:
        words = struct.unpack("<7Q", bytes(memory.read_memory(g.sp, 7 * 8)))
        regs = list(zip(("r15", "r14", "r13", "r12", "rbx", "rbp", "rip"), words))
        return regs + [("rsp", g.sp + 7 * 8)]
    if "aarch64" in arch:
        # d8..d15 are left alone: they take no part in unwinding.
        words = struct.unpack("<12Q", bytes(memory.read_memory(g.sp, 12 * 8)))
        regs = [("x%d" % (19 + i), words[i]) for i in range(10)]
        regs += [("x29", words[10]), ("x30", words[11]), ("pc", words[11])]
        return regs + [("sp", g.sp + 160)]
    raise gdb.GdbError("goro: goroutine contexts are known for x86-64 and AArch64, not " + arch)


def _frame_level(frame):
    level = 0
    while frame is not None and frame.newer() is not None:
        frame = frame.newer()
        level += 1
    return level


def _select_level(level):
    frame = gdb.newest_frame()
    for _ in range(level):
        older = frame.older()
        if older is None:
            break
        frame = older
    frame.select()


def _run_in_context(g, command, from_tty):
    """Runs command with the selected thread's registers switched to parked goroutine g."""
    if g.stack_lo == 0:
        print("goroutine %d has not started: it has no stack yet" % g.id)
        return
    if not g.on_stack(g.sp):
        raise gdb.GdbError("goro: goroutine %d's saved stack pointer 0x%x is off its stack "
                           "[0x%x, 0x%x)" % (g.id, g.sp, g.stack_lo, g.stack_hi))
    regs = _saved_registers(g)
    level = _frame_level(gdb.selected_frame())
    gdb.newest_frame().select()  # registers are written in frame 0 only (see the top)
    newest = gdb.newest_frame()
    old = [(name, int(newest.read_register(name))) for name, _ in regs]
    written = 0
    try:
        for name, value in regs:
            try:
                gdb.execute("set $%s = 0x%x" % (name, value), to_string=True)
            except gdb.error as e:
                if written == 0:  # e.g. a core file: gdb writes no register there
                    raise gdb.GdbError(
                        "goro: cannot switch to goroutine %d's context here (%s); `goroutine N "
                        "CMD` needs a live process, `info goroutines` works on a core too" %
                        (g.id, e))
                raise
            written += 1
        gdb.execute(command, from_tty)
    finally:
        gdb.newest_frame().select()
        for name, value in reversed(old[:written]):
            gdb.execute("set $%s = 0x%x" % (name, value), to_string=True)
        _select_level(level)


def _run_on_thread(g, command, from_tty):
    thread, level = gdb.selected_thread(), _frame_level(gdb.selected_frame())
    try:
        g.thread.switch()
        gdb.newest_frame().select()
        gdb.execute(command, from_tty)
    finally:
        thread.switch()
        _select_level(level)


def _run_for(g, command, from_tty):
    if g.thread is not None:
        _run_on_thread(g, command, from_tty)
    elif g.state in ("running", "syscall"):
        print("goroutine %d is %s, but on no thread's stack (a signal handler's?)" %
              (g.id, g.state))
    else:
        _run_in_context(g, command, from_tty)


def _check_stopped():
    thread = gdb.selected_thread()
    if thread is None:
        raise gdb.GdbError("goro: no process or core file")
    if thread.is_running():
        raise gdb.GdbError("goro: the selected thread is running; stop it first")


# ---- Commands --------------------------------------------------------------------------------


class InfoGoroutines(gdb.Command):
    """List goro's goroutines: id, state, wait reason, where it blocked and who created it.
A '*' marks the goroutine running on the selected thread."""

    def __init__(self):
        super().__init__("info goroutines", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        _check_stopped()
        gs = goroutines()
        if not gs:
            print("No goroutines (the goro runtime has not started).")
            return
        selected = gdb.selected_thread()
        rows = [("", "Id", "State", "Wait reason", "Where")]
        for g in gs:
            mark = "*" if g.thread is not None and g.thread.ptid == selected.ptid else ""
            rows.append((mark, str(g.id), g.state, g.reason, g.where()))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            cells = [row[i].ljust(widths[i]) for i in range(4)]
            print(("%s %s  %s  %s  %s" % (cells[0], cells[1], cells[2], cells[3], row[4])).rstrip())


class GoroutineCommand(gdb.Command):
    """Run a gdb command in a goroutine's context: goroutine ID COMMAND, or goroutine all COMMAND.
For example `goroutine 7 bt` or `goroutine all bt`. A parked goroutine's saved registers are
put in the selected thread for the command and restored after it; a running goroutine's
command runs on its thread."""

    def __init__(self):
        super().__init__("goroutine", gdb.COMMAND_STACK, gdb.COMPLETE_COMMAND)

    def invoke(self, arg, from_tty):
        parts = arg.split(None, 1)
        if len(parts) != 2:
            raise gdb.GdbError("usage: goroutine ID|all COMMAND")
        _check_stopped()
        which, command = parts
        if which == "all":
            for g in goroutines():
                print("\ngoroutine %d [%s]:" % (g.id, g.reason or g.state))
                _run_for(g, command, from_tty)
            return
        try:
            gid = int(which, 0)
        except ValueError:
            raise gdb.GdbError("goro: '%s' is not a goroutine id" % which)
        _run_for(_find(gid), command, from_tty)


InfoGoroutines()
GoroutineCommand()
