/*
 * LD_PRELOAD shim for test/interop/disk-faults.test.ts, compiled by the test with gcc.
 * fdatasync, fsync and msync fail with EIO (or SY_FAIL_SYNC_ERRNO) once SY_FAIL_SYNC_AFTER
 * calls have succeeded. With SY_FAIL_SYNC_DIR set, only calls on files under that directory
 * count and fail (msync, which has no file, always counts). Without SY_FAIL_SYNC_AFTER it
 * changes nothing.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static atomic_long calls;

static int watched(int fd) {
  const char *dir = getenv("SY_FAIL_SYNC_DIR");
  if (!dir || fd < 0) return 1;
  char link[64], path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n < 0) return 0;
  path[n] = 0;
  return strncmp(path, dir, strlen(dir)) == 0;
}

/* True when this call must fail (and sets errno). */
static int fail_now(int fd) {
  const char *after = getenv("SY_FAIL_SYNC_AFTER");
  if (!after || !watched(fd)) return 0;
  if (atomic_fetch_add(&calls, 1) < atol(after)) return 0;
  const char *e = getenv("SY_FAIL_SYNC_ERRNO");
  errno = e ? atoi(e) : EIO;
  return 1;
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  return fail_now(fd) ? -1 : real(fd);
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  return fail_now(fd) ? -1 : real(fd);
}

int msync(void *addr, size_t length, int flags) {
  static int (*real)(void *, size_t, int);
  if (!real) real = (int (*)(void *, size_t, int))dlsym(RTLD_NEXT, "msync");
  return fail_now(-1) ? -1 : real(addr, length, flags);
}
