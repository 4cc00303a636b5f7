/*
 * The accelerator probe (accel-probe.ts): a boot sector that switches to 64-bit long mode with paging,
 * writes 64 MiB of memory, and ends qemu through the isa-debug-exit port (exit status 133). A working
 * KVM runs it in milliseconds, TCG in a fraction of a second; a KVM that cannot run real guests (nested,
 * without hardware paging help) needs minutes, so a time limit tells them apart.
 *
 * Rebuild: as --32 -o p.o accel-probe.S && ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o p.img p.o
 * (accel-probe.test.ts checks that PROBE_CODE in accel-probe.ts is this file's code).
 */
.code16
.globl _start
_start:
  cli
  xor %ax, %ax
  mov %ax, %ds
  lgdt gdtdesc
  mov %cr0, %eax
  or $1, %eax                /* protected mode */
  mov %eax, %cr0
  ljmp $0x08, $pm
.code32
pm:
  mov $0x10, %ax
  mov %ax, %ds
  mov %ax, %ss
  /* identity-map the first 2 MiB with one large page: PML4 at 0x1000, PDPT at 0x2000, PD at 0x3000 */
  mov $0x1000, %edi
  movl $0x2003, (%edi)
  movl $0, 4(%edi)
  movl $0x3003, 0x1000(%edi)
  movl $0, 0x1004(%edi)
  movl $0x83, 0x2000(%edi)
  movl $0, 0x2004(%edi)
  mov %edi, %cr3
  mov %cr4, %eax
  or $0x20, %eax             /* PAE */
  mov %eax, %cr4
  mov $0xC0000080, %ecx      /* EFER.LME */
  rdmsr
  or $0x100, %eax
  wrmsr
  mov %cr0, %eax
  or $0x80000000, %eax       /* paging: long mode */
  mov %eax, %cr0
  ljmp $0x18, $lm
.code64
lm:
  mov $64, %edx              /* 64 rounds of 1 MiB at 1 MiB */
1:
  mov $0x100000, %edi
  mov $0x100000, %ecx
  xor %eax, %eax
  rep stosb
  dec %edx
  jnz 1b
  mov $0x42, %al             /* isa-debug-exit: qemu exits with (0x42 << 1) | 1 */
  out %al, $0xf4
  hlt
.p2align 3
gdt:
  .quad 0
  .quad 0x00cf9a000000ffff   /* 0x08: 32-bit code */
  .quad 0x00cf92000000ffff   /* 0x10: data */
  .quad 0x00af9a000000ffff   /* 0x18: 64-bit code */
gdtdesc:
  .word 31
  .long gdt
.org 510
  .byte 0x55, 0xaa
