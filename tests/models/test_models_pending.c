/* Stand-ins while the front end / back ends are not linked into this runner. */
#include "test_models.h"

void tm_add_frontend_tests(Suite *s)
{
    (void)s;
}

void tm_add_xcheck_tests(Suite *s)
{
    (void)s;
}
