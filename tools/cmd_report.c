/* clbnm report: the standard figures of a simulate file or an optimize folder.
 *
 * The figures are drawn by tools/report/clbnm_report.py with matplotlib: plotting is
 * what matplotlib does well, and users can read and adapt a short script. This command
 * only finds the script and replaces itself with the Python interpreter running it, so
 * the script's output and exit status are the command's; `clbnm demo`, which has more
 * to do afterwards, runs it as a child instead (cli_report_run). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "clbnm_report_config.h"

#define REPORT_PACKAGES "python3 python3-matplotlib python3-h5py python3-numpy"
#define DEFAULT_PYTHON "/usr/bin/python3"

/* The script: the source tree's ($CLBNM_SOURCE_ROOT, else the compiled-in source path),
 * then the installed copy, the same order as the model path (engine/modellib). Returns
 * a malloc'd path, or NULL with every place tried printed. */
static char *find_script(void)
{
    const char *root = getenv("CLBNM_SOURCE_ROOT");
    char *from_root = NULL;
    if (root && *root) {
        size_t n = strlen(root) + 1 + strlen(CLBNM_REPORT_SCRIPT_REL) + 1;
        from_root = malloc(n);
        if (!from_root) {
            fprintf(stderr, "clbnm report: error: out of memory\n");
            return NULL;
        }
        snprintf(from_root, n, "%s/%s", root, CLBNM_REPORT_SCRIPT_REL);
    }
    const char *candidates[] = {from_root ? from_root : CLBNM_REPORT_SOURCE_SCRIPT,
                                CLBNM_REPORT_INSTALLED_SCRIPT};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        if (access(candidates[i], R_OK) == 0) {
            char *p = strdup(candidates[i]);
            free(from_root);
            if (!p)
                fprintf(stderr, "clbnm report: error: out of memory\n");
            return p;
        }
    }
    fprintf(stderr,
            "clbnm report: error: the figure script clbnm_report.py is missing: looked for "
            "'%s' and '%s' (reinstall clbnm)\n",
            candidates[0], candidates[1]);
    free(from_root);
    return NULL;
}

/* The interpreter ($CLBNM_PYTHON, else /usr/bin/python3) when it can be run, else NULL
 * with the reason printed. */
static const char *find_python(void)
{
    const char *python = getenv("CLBNM_PYTHON");
    if (!python || !*python)
        python = DEFAULT_PYTHON;
    if (access(python, X_OK) != 0) {
        fprintf(stderr,
                "clbnm report: error: cannot run the Python interpreter '%s' (%s): install "
                "it with `apt-get install " REPORT_PACKAGES "`, or set CLBNM_PYTHON to a "
                "Python 3 that has matplotlib and h5py\n",
                python, strerror(errno));
        return NULL;
    }
    return python;
}

/* python script ARGS... NULL from the subcommand's argv (argv[0] is "report"). */
static char **script_args(const char *python, char *script, int argc, char **argv)
{
    char **args = calloc((size_t)argc + 2, sizeof *args);
    if (!args) {
        fprintf(stderr, "clbnm report: error: out of memory\n");
        return NULL;
    }
    args[0] = (char *)python;
    args[1] = script;
    for (int i = 1; i < argc; i++)
        args[i + 1] = argv[i];
    return args;
}

int cmd_report(int argc, char **argv)
{
    const char *python = find_python();
    if (!python)
        return CLI_EXIT_USER;
    char *script = find_script();
    if (!script)
        return CLI_EXIT_USER;
    char **args = script_args(python, script, argc, argv);
    if (!args) {
        free(script);
        return CLI_EXIT_USER;
    }
    fflush(NULL);
    execv(python, args);
    int err = errno;
    fprintf(stderr, "clbnm report: error: cannot run '%s %s': %s\n", python, script,
            strerror(err));
    free(args);
    free(script);
    return CLI_EXIT_USER;
}

int cli_report_run(const char *input, const char *outdir)
{
    const char *python = find_python();
    if (!python)
        return CLI_EXIT_USER;
    char *script = find_script();
    if (!script)
        return CLI_EXIT_USER;
    char *argv[] = {"report", (char *)input, "-o", (char *)outdir, NULL};
    char **args = script_args(python, script, 4, argv);
    if (!args) {
        free(script);
        return CLI_EXIT_USER;
    }
    int code = CLI_EXIT_USER;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execv(python, args);
        fprintf(stderr, "clbnm report: error: cannot run '%s %s': %s\n", python, script,
                strerror(errno));
        _exit(CLI_EXIT_USER);
    }
    int ws = 0;
    if (pid < 0)
        fprintf(stderr, "clbnm report: error: cannot start '%s': %s\n", python,
                strerror(errno));
    else if (waitpid(pid, &ws, 0) == pid && WIFEXITED(ws))
        code = WEXITSTATUS(ws);
    else
        fprintf(stderr, "clbnm report: error: '%s %s' did not finish normally\n", python,
                script);
    free(args);
    free(script);
    return code;
}
