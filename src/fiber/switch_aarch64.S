// Context switch for AArch64 (AAPCS64). Saves the callee-saved registers x19-x30 and d8-d15.
//
// void goro_ctx_switch(void** save_sp, void* load_sp)
//   Stores the registers in a 160-byte frame on the current stack, stores sp in *save_sp,
//   switches to load_sp, restores the same frame and returns through x30 (the saved link
//   register), which for a fresh context is goro_ctx_start.
//
// A fresh context (ctx_make in stack.cpp) holds x19 = argument, x20 = entry function.
#if defined(__aarch64__)
        .text
        .globl  goro_ctx_switch
        .hidden goro_ctx_switch
        .type   goro_ctx_switch, %function
        .p2align 4
goro_ctx_switch:
        sub     sp, sp, #160
        stp     x19, x20, [sp, #0]
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]
        stp     d8, d9, [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        mov     x9, sp
        str     x9, [x0]
        mov     sp, x1
        ldp     x19, x20, [sp, #0]
        ldp     x21, x22, [sp, #16]
        ldp     x23, x24, [sp, #32]
        ldp     x25, x26, [sp, #48]
        ldp     x27, x28, [sp, #64]
        ldp     x29, x30, [sp, #80]
        ldp     d8, d9, [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        add     sp, sp, #160
        ret
        .size   goro_ctx_switch, .-goro_ctx_switch

        .globl  goro_ctx_start
        .hidden goro_ctx_start
        .type   goro_ctx_start, %function
        .p2align 4
goro_ctx_start:
        mov     x29, #0
        mov     x30, #0
        mov     x0, x19
        blr     x20
        brk     #0
        .size   goro_ctx_start, .-goro_ctx_start
#endif
        .section .note.GNU-stack,"",%progbits
