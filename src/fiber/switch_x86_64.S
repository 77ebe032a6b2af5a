// Context switch for x86-64 System V. Only the callee-saved registers are saved: the caller of
// goro_ctx_switch has already spilled everything else, as for any function call.
//
// void goro_ctx_switch(void** save_sp, void* load_sp)
//   Pushes rbp, rbx, r12-r15 on the current stack, stores rsp in *save_sp, switches to
//   load_sp, pops the same registers and jumps to the return address found there.
// Returning with pop + jmp rather than ret: the return address belongs to another stack, so
// a ret would mispredict on every switch (docs/design.md: 8.8 ns vs about 1 ns).
//
// A fresh context (ctx_make in stack.cpp) holds r12 = argument, r13 = entry function,
// and the return address goro_ctx_entry (in goro_ctx_start), which calls entry(argument) and
// never returns.
//
// Unwind information (.cfi_*), for debuggers and profilers: goro_ctx_switch describes each
// saved register at every instruction, so a backtrace taken inside it (a signal, a breakpoint)
// is right on either stack; goro_ctx_start marks the return address undefined, which ends a
// goroutine's backtrace cleanly at its entry (tools/goro-gdb.py's `goroutine N bt` relies on
// both).
#if defined(__x86_64__)
        .text
        .globl  goro_ctx_switch
        .hidden goro_ctx_switch
        .type   goro_ctx_switch, @function
        .p2align 4
goro_ctx_switch:
        .cfi_startproc
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset rbp, 0
        pushq   %rbx
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset rbx, 0
        pushq   %r12
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r12, 0
        pushq   %r13
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r13, 0
        pushq   %r14
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r14, 0
        pushq   %r15
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r15, 0
        movq    %rsp, (%rdi)
        // The frame at load_sp has the layout just pushed (saved by a switch, or made by
        // ctx_make), so the unwind rules above describe it as well.
        movq    %rsi, %rsp
        popq    %r15
        .cfi_adjust_cfa_offset -8
        .cfi_restore r15
        popq    %r14
        .cfi_adjust_cfa_offset -8
        .cfi_restore r14
        popq    %r13
        .cfi_adjust_cfa_offset -8
        .cfi_restore r13
        popq    %r12
        .cfi_adjust_cfa_offset -8
        .cfi_restore r12
        popq    %rbx
        .cfi_adjust_cfa_offset -8
        .cfi_restore rbx
        popq    %rbp
        .cfi_adjust_cfa_offset -8
        .cfi_restore rbp
        popq    %rcx
        .cfi_adjust_cfa_offset -8
        .cfi_register rip, rcx
        jmpq    *%rcx
        .cfi_endproc
        .size   goro_ctx_switch, .-goro_ctx_switch

        .globl  goro_ctx_start
        .hidden goro_ctx_start
        .type   goro_ctx_start, @function
        .p2align 4
goro_ctx_start:
        .cfi_startproc
        .cfi_undefined rip
        // A fresh context resumes at goro_ctx_entry, one instruction in: an unwinder looks a
        // return address up at address - 1 (the call before it), which must fall in this
        // function for a backtrace taken inside goro_ctx_switch on its way into a new goroutine.
        nop
        .globl  goro_ctx_entry
        .hidden goro_ctx_entry
goro_ctx_entry:
        xorl    %ebp, %ebp
        movq    %r12, %rdi
        callq   *%r13
        ud2
        .cfi_endproc
        .size   goro_ctx_start, .-goro_ctx_start
#endif
        .section .note.GNU-stack,"",@progbits
