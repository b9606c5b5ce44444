/*
 * replay.c - runs saved inputs through the fuzz target without libFuzzer, so any compiler builds it:
 * `ng_fuzz_replay DIR_OR_FILE...`. ctest runs fuzz/regressions (every input that ever crashed the target)
 * this way, in the plain and in the sanitized build.
 */
#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = (uint8_t *)malloc(n > 0 ? (size_t)n : 1);
    if (!data || (n > 0 && fread(data, 1, (size_t)n, f) != (size_t)n)) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        fclose(f);
        free(data);
        return 1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(data, (size_t)n); /* a failing input aborts the process with the harness's message */
    free(data);
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    LLVMFuzzerInitialize(&argc, &argv);
    long files = 0;
    int errors = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s does not exist\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            errors += run_file(argv[i]);
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) return 1;
        char **names = NULL;
        size_t count = 0, cap = 0;
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            if (e->d_name[0] == '.' || !strcmp(e->d_name, "README.md")) continue;
            if (count == cap) {
                cap = cap ? 2 * cap : 64;
                names = (char **)realloc(names, cap * sizeof *names);
                if (!names) return 1;
            }
            size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
            names[count] = (char *)malloc(len);
            snprintf(names[count], len, "%s/%s", argv[i], e->d_name);
            count++;
        }
        closedir(d);
        if (count > 1) qsort(names, count, sizeof *names, by_name); /* a fixed order: runs are reproducible */
        for (size_t k = 0; k < count; k++) {
            errors += run_file(names[k]);
            free(names[k]);
            files++;
        }
        free(names);
    }
    printf("replayed %ld inputs, %d unreadable\n", files, errors);
    return errors ? 1 : 0;
}
