/* libFuzzer harness over the sslbio C API: the engine's C sources are
 * compiled into this binary (see mk/fuzz.mk), so ASan/UBSan instrument the
 * engine itself. See fuzz_common.h for the input format and the oracle.
 *
 * Built without libFuzzer (-DFZ_STANDALONE) it is a replay tool: it runs
 * each file (or each file of each directory) given on the command line
 * once, for regression runs under gcc, ASan or valgrind. */
#include "fuzz_common.h"

#ifndef FZ_STANDALONE
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fz_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_run(data, size);
  return 0;
}
#else
#include <dirent.h>
#include <sys/stat.h>

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    return 1;
  }
  static uint8_t buf[1 << 20];
  size_t n = fread(buf, 1, sizeof(buf), f);
  fclose(f);
  fz_run(buf, n);
  return 0;
}

int main(int argc, char **argv) {
  fz_init();
  int files = 0, bad = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      perror(argv[i]);
      return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
      bad += run_file(argv[i]), files++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.')
        continue;
      char p[4096];
      snprintf(p, sizeof(p), "%s/%s", argv[i], e->d_name);
      bad += run_file(p), files++;
    }
    if (d)
      closedir(d);
  }
  for (int v = 0; v < FZ_VARIANTS; v++)
    sslbio_ctx_free(fz_srv[v]), sslbio_ctx_free(fz_cli[v]);
  printf("fuzz replay: %d inputs run, no invariant failed\n", files);
  return bad != 0;
}
#endif
