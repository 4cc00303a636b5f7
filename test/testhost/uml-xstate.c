/*
 * Preloaded into linux.uml (LD_PRELOAD) on hosts whose CPUs have more extended register state than
 * the UML kernel knows of (AVX-512, AMX). That kernel restores a task's FPU registers with
 * PTRACE_SETREGSET(NT_X86_XSTATE) and a buffer of only the legacy, header and AVX parts, and the host
 * kernel refuses anything shorter than its full XSAVE size with EFAULT: the first process inside dies.
 * Here a short SETREGSET is completed: the tracee's full state is read, the caller's part is laid over
 * it, and the full buffer is written. The state past the caller's part is not switched between tasks,
 * so the test host's init turns AVX-512 off in glibc (GLIBC_TUNABLES).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef long (*ptrace_fn)(int, pid_t, void *, void *);

static unsigned char full[64 * 1024];

long ptrace(enum __ptrace_request request, ...) {
  static ptrace_fn real;
  if (!real) real = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
  va_list ap;
  va_start(ap, request);
  pid_t pid = va_arg(ap, pid_t);
  void *addr = va_arg(ap, void *);
  void *data = va_arg(ap, void *);
  va_end(ap);
  if (request == PTRACE_SETREGSET && (long)addr == NT_X86_XSTATE) {
    struct iovec *given = data;
    struct iovec whole = { full, sizeof full };
    if (real(PTRACE_GETREGSET, pid, addr, &whole) == 0 && given->iov_len < whole.iov_len) {
      memcpy(full, given->iov_base, given->iov_len);
      return real(PTRACE_SETREGSET, pid, addr, &whole);
    }
  }
  return real(request, pid, addr, data);
}
