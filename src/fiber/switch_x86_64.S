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
// and the return address goro_ctx_start, which calls entry(argument) and never returns.
#if defined(__x86_64__)
        .text
        .globl  goro_ctx_switch
        .hidden goro_ctx_switch
        .type   goro_ctx_switch, @function
        .p2align 4
goro_ctx_switch:
        .cfi_startproc
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        popq    %rcx
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
        xorl    %ebp, %ebp
        movq    %r12, %rdi
        callq   *%r13
        ud2
        .cfi_endproc
        .size   goro_ctx_start, .-goro_ctx_start
#endif
        .section .note.GNU-stack,"",@progbits
