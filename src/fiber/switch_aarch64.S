// Context switch for AArch64 (AAPCS64). Saves the callee-saved registers x19-x30 and d8-d15.
//
// void goro_ctx_switch(void** save_sp, void* load_sp)
//   Stores the registers in a 160-byte frame on the current stack, stores sp in *save_sp,
//   switches to load_sp, restores the same frame and returns through x30 (the saved link
//   register), which for a fresh context is goro_ctx_entry (in goro_ctx_start).
//
// A fresh context (ctx_make in stack.cpp) holds x19 = argument, x20 = entry function.
//
// Unwind information (.cfi_*), for debuggers and profilers, as in switch_x86_64.S:
// goro_ctx_switch describes its frame at every instruction (the frame at load_sp has the same
// layout, so the rules hold on either stack), and goro_ctx_start marks the return address
// undefined, which ends a goroutine's backtrace cleanly at its entry.
#if defined(__aarch64__)
        .text
        .globl  goro_ctx_switch
        .hidden goro_ctx_switch
        .type   goro_ctx_switch, %function
        .p2align 4
goro_ctx_switch:
        .cfi_startproc
        sub     sp, sp, #160
        .cfi_def_cfa_offset 160
        stp     x19, x20, [sp, #0]
        .cfi_offset x19, -160
        .cfi_offset x20, -152
        stp     x21, x22, [sp, #16]
        .cfi_offset x21, -144
        .cfi_offset x22, -136
        stp     x23, x24, [sp, #32]
        .cfi_offset x23, -128
        .cfi_offset x24, -120
        stp     x25, x26, [sp, #48]
        .cfi_offset x25, -112
        .cfi_offset x26, -104
        stp     x27, x28, [sp, #64]
        .cfi_offset x27, -96
        .cfi_offset x28, -88
        stp     x29, x30, [sp, #80]
        .cfi_offset x29, -80
        .cfi_offset x30, -72
        stp     d8, d9, [sp, #96]
        .cfi_offset d8, -64
        .cfi_offset d9, -56
        stp     d10, d11, [sp, #112]
        .cfi_offset d10, -48
        .cfi_offset d11, -40
        stp     d12, d13, [sp, #128]
        .cfi_offset d12, -32
        .cfi_offset d13, -24
        stp     d14, d15, [sp, #144]
        .cfi_offset d14, -16
        .cfi_offset d15, -8
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
        .cfi_def_cfa_offset 0
        .cfi_restore x19
        .cfi_restore x20
        .cfi_restore x21
        .cfi_restore x22
        .cfi_restore x23
        .cfi_restore x24
        .cfi_restore x25
        .cfi_restore x26
        .cfi_restore x27
        .cfi_restore x28
        .cfi_restore x29
        .cfi_restore x30
        .cfi_restore d8
        .cfi_restore d9
        .cfi_restore d10
        .cfi_restore d11
        .cfi_restore d12
        .cfi_restore d13
        .cfi_restore d14
        .cfi_restore d15
        ret
        .cfi_endproc
        .size   goro_ctx_switch, .-goro_ctx_switch

        .globl  goro_ctx_start
        .hidden goro_ctx_start
        .type   goro_ctx_start, %function
        .p2align 4
goro_ctx_start:
        .cfi_startproc
        .cfi_undefined x30
        // A fresh context resumes at goro_ctx_entry, one instruction in (as in switch_x86_64.S:
        // an unwinder looks a return address up at address - 1, which must fall in here).
        nop
        .globl  goro_ctx_entry
        .hidden goro_ctx_entry
goro_ctx_entry:
        mov     x29, #0
        mov     x30, #0
        mov     x0, x19
        blr     x20
        brk     #0
        .cfi_endproc
        .size   goro_ctx_start, .-goro_ctx_start
#endif
        .section .note.GNU-stack,"",%progbits
