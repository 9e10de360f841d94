/* LD_PRELOAD shim for `make coverage`: a Go test binary leaves through the
 * exit_group system call, so the C code it links never runs its atexit
 * handlers and gcov never writes its counters. This thread writes them
 * every 50 ms (__gcov_dump, then __gcov_reset, so the file accumulates
 * exactly once each count). The binary is linked with -rdynamic so that
 * dlsym finds the two functions; in any other program it does nothing. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>

static void *flusher(void *arg) {
  (void)arg;
  void (*dump)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "__gcov_dump");
  void (*reset)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "__gcov_reset");
  if (dump == NULL || reset == NULL)
    return NULL;
  for (;;) {
    usleep(50000);
    dump();
    reset();
  }
  return NULL;
}

__attribute__((constructor)) static void start_flusher(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, flusher, NULL) == 0)
    pthread_detach(t);
}
