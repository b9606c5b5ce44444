/* test_api.c - library entry points and argument validation (error codes + non-empty messages). */
#include "test_common.h"

#define EXPECT_ERR(call, code)                                                                        \
    do {                                                                                              \
        ng_status st_ = (call);                                                                       \
        CHECK(st_ == (code), "%s returned %d, expected %d", #call, st_, code);                        \
        CHECK(strlen(ng_last_error()) > 0, "%s: empty ng_last_error()", #call);                       \
    } while (0)

int main(void) {
    float x[16] = {0}, y[16] = {0};
    int64_t shape[9] = {2, 2, 1, 1, 1, 1, 1, 1, 1}, st[9] = {2, 1, 1, 1, 1, 1, 1, 1, 1};
    CHECK(ng_version() == NG_ABI_VERSION, "version");
    const char *p = ng_kernel_path();
    CHECK(p && (!strcmp(p, "scalar") || !strcmp(p, "avx2") || !strcmp(p, "avx512")), "kernel path '%s'", p);
    printf("kernel path %s, threads %d\n", p, ng_get_threads());
    CHECK(ng_get_threads() >= 1, "threads");
    CHECK(strcmp(ng_last_error(), "") == 0, "last error initially empty");

    EXPECT_ERR(ng_unary(2, NG_UNARY_EXP, 4, x, y, 0, 0), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_unary(-1, NG_UNARY_EXP, 4, x, y, 0, 0), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_unary(NG_F32, NG_UNARY_COUNT, 4, x, y, 0, 0), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_unary(NG_F32, -1, 4, x, y, 0, 0), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_unary(NG_F32, NG_UNARY_EXP, -1, x, y, 0, 0), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_unary(NG_F32, NG_UNARY_EXP, 4, NULL, y, 0, 0), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_unary(NG_F32, NG_UNARY_EXP, 4, x, NULL, 0, 0), NG_ERR_INVALID_ARGUMENT);
    CHECK(ng_unary(NG_F32, NG_UNARY_EXP, 0, NULL, NULL, 0, 0) == NG_OK, "n = 0 with NULL pointers is fine");
    CHECK(strstr(ng_last_error(), "ng_unary") != NULL, "message names the function: '%s'", ng_last_error());

    EXPECT_ERR(ng_binary(NG_F32, NG_BINARY_ADD, 9, shape, x, st, x, st, y), NG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(ng_last_error(), "9") != NULL, "message names the bad ndim: '%s'", ng_last_error());
    EXPECT_ERR(ng_binary(NG_F32, NG_BINARY_ADD, -1, shape, x, st, x, st, y), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_binary(NG_F32, NG_BINARY_COUNT, 2, shape, x, st, x, st, y), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_binary(5, NG_BINARY_ADD, 2, shape, x, st, x, st, y), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_binary(NG_F32, NG_BINARY_ADD, 2, NULL, x, st, x, st, y), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_binary(NG_F32, NG_BINARY_ADD, 2, shape, NULL, st, x, st, y), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_binary(NG_F32, NG_BINARY_ADD, 2, shape, x, NULL, x, st, y), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_binary(NG_F32, NG_BINARY_ADD, 2, shape, x, st, x, st, NULL), NG_ERR_INVALID_ARGUMENT);
    {
        int64_t negst[2] = {-2, 1}, negsh[2] = {2, -2}, big[2] = {INT64_MAX / 2, 4}, one[2] = {1, 1};
        EXPECT_ERR(ng_binary(NG_F32, NG_BINARY_ADD, 2, shape, x, negst, x, st, y), NG_ERR_INVALID_ARGUMENT);
        EXPECT_ERR(ng_binary(NG_F32, NG_BINARY_ADD, 2, negsh, x, st, x, st, y), NG_ERR_INVALID_ARGUMENT);
        EXPECT_ERR(ng_binary(NG_F32, NG_BINARY_ADD, 2, big, x, one, x, one, y), NG_ERR_INVALID_ARGUMENT);
        int64_t sh0[2] = {0, 3};
        CHECK(ng_binary(NG_F32, NG_BINARY_ADD, 2, sh0, NULL, st, NULL, st, NULL) == NG_OK, "empty binary");
    }
    CHECK(ng_binary(NG_F32, NG_BINARY_ADD, 0, NULL, x, NULL, x, NULL, y) == NG_OK, "0-d binary");
    EXPECT_ERR(ng_copy_strided(NG_F64, 9, shape, x, st, y, st), NG_ERR_INVALID_ARGUMENT);
    {
        int64_t zs[2] = {0, 1};
        EXPECT_ERR(ng_copy_strided(NG_F32, 2, shape, x, st, y, zs), NG_ERR_INVALID_ARGUMENT);
    }
    EXPECT_ERR(ng_fill(NG_F32, -3, y, 1), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_fill(NG_F32, 3, NULL, 1), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_fill(7, 3, y, 1), NG_ERR_INVALID_ARGUMENT);

    EXPECT_ERR(ng_reduce(NG_F32, NG_REDUCE_COUNT, 1, 4, 1, x, y), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_reduce(NG_F32, NG_REDUCE_SUM, 1, -4, 1, x, y), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_reduce(NG_F32, NG_REDUCE_SUM, 1, 4, 1, NULL, y), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_reduce(NG_F32, NG_REDUCE_SUM, INT64_MAX, 4, 2, x, y), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_softmax(NG_F32, 0, -1, 4, x, y), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_softmax(NG_F32, 0, 1, 4, x, NULL), NG_ERR_INVALID_ARGUMENT);

    EXPECT_ERR(ng_gemm(NG_F32, 2, 0, 2, 2, 2, 1, x, 2, 0, x, 2, 0, 0, y, 2, 0, 1), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_gemm(NG_F32, 0, 0, 2, 2, 2, 1, x, 1, 0, x, 2, 0, 0, y, 2, 0, 1), NG_ERR_INVALID_ARGUMENT); /* lda < K */
    EXPECT_ERR(ng_gemm(NG_F32, 0, 0, 2, 2, 2, 1, x, 2, 0, x, 2, 0, 0, y, 1, 0, 1), NG_ERR_INVALID_ARGUMENT); /* ldc < N */
    EXPECT_ERR(ng_gemm(NG_F32, 0, 0, -2, 2, 2, 1, x, 2, 0, x, 2, 0, 0, y, 2, 0, 1), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_gemm(NG_F32, 0, 0, 2, 2, 2, 1, NULL, 2, 0, x, 2, 0, 0, y, 2, 0, 1), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_gemm(NG_F32, 0, 0, 2, 2, 2, 1, x, 2, -4, x, 2, 0, 0, y, 2, 0, 1), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_gemm(NG_F32, 0, 0, 2, 2, 2, 1, x, 2, 0, x, 2, 0, 0, y, 2, 0, -1), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_gemm(3, 0, 0, 2, 2, 2, 1, x, 2, 0, x, 2, 0, 0, y, 2, 0, 1), NG_ERR_INVALID_ARGUMENT);
    CHECK(ng_gemm(NG_F32, 0, 0, 0, 2, 2, 1, NULL, 2, 0, NULL, 2, 0, 0, NULL, 2, 0, 1) == NG_OK, "M = 0");

    EXPECT_ERR(ng_set_threads(0), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_set_threads(257), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_set_kernel_path("bogus"), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_set_kernel_path(NULL), NG_ERR_INVALID_ARGUMENT);
    CHECK(ng_set_kernel_path("scalar") == NG_OK, "scalar path always available");
    CHECK(!strcmp(ng_kernel_path(), "scalar"), "path switched");
    CHECK(ng_set_kernel_path(p) == NG_OK, "restore path");
    {
        int64_t idx[2] = {0, 2};
        EXPECT_ERR(ng_index_select(NG_F32, 1, 2, 1, x, idx, 2, y), NG_ERR_INDEX);
        CHECK(strstr(ng_last_error(), "2") != NULL, "index message: '%s'", ng_last_error());
    }
    EXPECT_ERR(ng_im2col(NG_F32, 1, 1, 3, 3, 0, 1, 1, 1, 0, 0, x, y), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_col2im(NG_F32, 1, 1, 3, 3, 2, 2, 1, 1, -1, 0, x, y), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_maxpool2d(NG_F32, 1, 1, 3, 3, 2, 2, 1, 1, x, y, NULL), NG_ERR_INVALID_ARGUMENT);

    /* sizes whose bytes cannot exist: rejected before any pointer is touched */
    EXPECT_ERR(ng_unary(NG_F64, NG_UNARY_EXP, INT64_MAX / 4, x, y, 0, 0), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_fill(NG_F32, INT64_MAX / 2, y, 0), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_softmax(NG_F64, 0, INT64_MAX / 8, 2, x, y), NG_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ng_reduce(NG_F64, NG_REDUCE_SUM, 1, INT64_MAX / 4, 1, x, y), NG_ERR_INVALID_ARGUMENT);
    {
        int64_t sh[2] = {2, 2}, huge[2] = {INT64_MAX / 8, 1}, one[2] = {2, 1};
        EXPECT_ERR(ng_binary(NG_F64, NG_BINARY_ADD, 2, sh, x, huge, x, one, y), NG_ERR_INVALID_ARGUMENT);
        EXPECT_ERR(ng_copy_strided(NG_F64, 2, sh, x, one, y, huge), NG_ERR_INVALID_ARGUMENT);
        int64_t idx[1] = {0};
        EXPECT_ERR(ng_index_select(NG_F32, 1, INT64_MAX / 2, 1, x, idx, 1, y), NG_ERR_INVALID_ARGUMENT);
        EXPECT_ERR(ng_gather(NG_F32, 1, 1, INT64_MAX / 4, x, idx, y), NG_ERR_INVALID_ARGUMENT);
        EXPECT_ERR(ng_gemm(NG_F64, 0, 0, 2, 2, 2, 1, x, INT64_MAX / 8, 0, x, 2, 0, 0, y, 2, 0, 1), NG_ERR_INVALID_ARGUMENT);
        EXPECT_ERR(ng_im2col(NG_F32, 1, 1, INT64_MAX / 8, 1, 1, 1, 1, 1, 0, 0, x, y), NG_ERR_INVALID_ARGUMENT);
    }
    /* outputs that alias inputs other than as documented */
    {
        float a[32] = {0};
        int64_t sh[2] = {2, 2}, c[2] = {2, 1}, tr[2] = {1, 2}, bc[2] = {0, 1};
        EXPECT_ERR(ng_unary(NG_F32, NG_UNARY_EXP, 8, a, a + 1, 0, 0), NG_ERR_INVALID_ARGUMENT);
        CHECK(ng_unary(NG_F32, NG_UNARY_EXP, 8, a, a, 0, 0) == NG_OK, "unary in place");
        CHECK(ng_binary(NG_F32, NG_BINARY_ADD, 2, sh, a, c, a + 8, c, a) == NG_OK, "binary into contiguous a");
        CHECK(ng_binary(NG_F32, NG_BINARY_ADD, 2, sh, a + 8, c, a, c, a) == NG_OK, "binary into contiguous b");
        EXPECT_ERR(ng_binary(NG_F32, NG_BINARY_ADD, 2, sh, a, tr, a + 8, c, a), NG_ERR_INVALID_ARGUMENT);
        EXPECT_ERR(ng_binary(NG_F32, NG_BINARY_ADD, 2, sh, a, bc, a + 8, c, a), NG_ERR_INVALID_ARGUMENT);
        EXPECT_ERR(ng_binary(NG_F32, NG_BINARY_ADD, 2, sh, a + 1, c, a + 8, c, a), NG_ERR_INVALID_ARGUMENT);
        EXPECT_ERR(ng_reduce(NG_F32, NG_REDUCE_SUM, 1, 4, 1, a, a + 3), NG_ERR_INVALID_ARGUMENT);
        CHECK(ng_softmax(NG_F32, 1, 2, 4, a, a) == NG_OK, "softmax in place");
        EXPECT_ERR(ng_softmax(NG_F32, 0, 2, 4, a, a + 4), NG_ERR_INVALID_ARGUMENT);
        EXPECT_ERR(ng_gemm(NG_F32, 0, 0, 2, 2, 2, 1, a, 2, 0, a + 8, 2, 0, 0, a + 2, 2, 0, 1), NG_ERR_INVALID_ARGUMENT);
        int64_t idx[4] = {0, 1, 0, 1};
        EXPECT_ERR(ng_index_select(NG_F32, 1, 4, 2, a, idx, 2, a + 6), NG_ERR_INVALID_ARGUMENT);
        EXPECT_ERR(ng_scatter_add(NG_F32, 1, 2, 2, a, idx, a + 1), NG_ERR_INVALID_ARGUMENT);
        EXPECT_ERR(ng_im2col(NG_F32, 1, 1, 3, 3, 2, 2, 1, 1, 0, 0, a, a + 4), NG_ERR_INVALID_ARGUMENT);
        /* a destination that writes one element twice */
        int64_t sh3[2] = {2, 3}, ov[2] = {2, 1}, ok[2] = {1, 2};
        EXPECT_ERR(ng_copy_strided(NG_F32, 2, sh3, a, c, a + 16, ov), NG_ERR_INVALID_ARGUMENT);
        CHECK(ng_copy_strided(NG_F32, 2, sh, a, c, a + 16, ok) == NG_OK, "transposed destination");
    }

    /* thread count round trip */
    int t0 = ng_get_threads();
    CHECK(ng_set_threads(1) == NG_OK && ng_get_threads() == 1, "set 1 thread");
    CHECK(ng_set_threads(3) == NG_OK && ng_get_threads() == 3, "set 3 threads");
    CHECK(ng_set_threads(t0) == NG_OK && ng_get_threads() == t0, "restore threads");
    return test_finish("test_api");
}
