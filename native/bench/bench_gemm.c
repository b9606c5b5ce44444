/* bench_gemm.c - rough GFLOP/s of ng_gemm per kernel path, dtype and thread count (1 and 2).
 * usage: bench_gemm [path|all] [n ...]      e.g. bench_gemm avx512 64 128 512 */
#define _POSIX_C_SOURCE 200809L
#include "nativegrad.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void bench(const char *path, int64_t n) {
    float *A = malloc(n * n * 4), *B = malloc(n * n * 4), *C = malloc(n * n * 4);
    double *Ad = malloc(n * n * 8), *Bd = malloc(n * n * 8), *Cd = malloc(n * n * 8);
    for (int64_t i = 0; i < n * n; i++) {
        A[i] = (float)((i * 7) % 13) / 13.f;
        B[i] = (float)((i * 5) % 11) / 11.f;
        Ad[i] = A[i];
        Bd[i] = B[i];
    }
    const double flop = 2.0 * n * n * n;
    for (int dt = 0; dt < 2; dt++)
        for (int t = 1; t <= 2; t++) {
            ng_set_threads(t);
            void *a = dt ? (void *)Ad : A, *b = dt ? (void *)Bd : B, *c = dt ? (void *)Cd : C;
            ng_gemm(dt, 0, 0, n, n, n, 1, a, n, 0, b, n, 0, 0, c, n, 0, 1);
            /* repeat for >= 0.2 s, report the best of 5 batches */
            int reps = (int)(2e8 / flop * (strcmp(path, "scalar") ? 50 : 5)) + 1;
            double best = 1e30;
            for (int r = 0; r < 5; r++) {
                double s = now();
                for (int i = 0; i < reps; i++) ng_gemm(dt, 0, 0, n, n, n, 1, a, n, 0, b, n, 0, 0, c, n, 0, 1);
                double e = (now() - s) / reps;
                if (e < best) best = e;
            }
            printf("gemm %-6s %s n=%-5lld threads=%d: %7.1f GFLOP/s\n", path, dt ? "f64" : "f32", (long long)n, t,
                   flop / best * 1e-9);
        }
    free(A); free(B); free(C); free(Ad); free(Bd); free(Cd);
}

int main(int argc, char **argv) {
    const char *paths[] = {"scalar", "avx2", "avx512"};
    const char *want = argc > 1 ? argv[1] : "all";
    int t0 = ng_get_threads();
    for (int p = 0; p < 3; p++) {
        if (strcmp(want, "all") && strcmp(want, paths[p])) continue;
        if (ng_set_kernel_path(paths[p]) != NG_OK) continue;
        if (argc > 2)
            for (int i = 2; i < argc; i++) bench(paths[p], atoll(argv[i]));
        else
            bench(paths[p], 512);
    }
    ng_set_threads(t0);
    return 0;
}
