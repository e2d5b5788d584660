/* A cmocka program for tests/release/skip_report.sh: argv[1] picks which
 * tests run: "pass" (one passing test), "skip" (a skipped and a passing
 * test), "skip_fail" (a skipped, a passing and a failing test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void skips(void **state)
{
    (void)state;
    skip();
}

static void passes(void **state)
{
    (void)state;
    assert_int_equal(2 + 2, 4);
}

static void fails(void **state)
{
    (void)state;
    fail_msg("this failure is the probe's purpose");
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "pass";
    const struct CMUnitTest pass_only[] = { cmocka_unit_test(passes) };
    const struct CMUnitTest with_skip[] = { cmocka_unit_test(skips), cmocka_unit_test(passes) };
    const struct CMUnitTest with_skip_and_failure[] = { cmocka_unit_test(skips), cmocka_unit_test(passes),
                                                        cmocka_unit_test(fails) };
    if (strcmp(mode, "skip") == 0)
        return cmocka_run_group_tests(with_skip, NULL, NULL);
    if (strcmp(mode, "skip_fail") == 0)
        return cmocka_run_group_tests(with_skip_and_failure, NULL, NULL);
    return cmocka_run_group_tests(pass_only, NULL, NULL);
}
